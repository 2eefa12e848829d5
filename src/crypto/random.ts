/** Cryptographically random bytes from the runtime's CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** A random identifier for rows, sessions and token ids. */
export function randomId(): string {
  return crypto.randomUUID();
}
