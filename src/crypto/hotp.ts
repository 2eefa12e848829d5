import { timingSafeEqualText } from './compare';

/** The HMAC hashes RFC 6238 §1.2 allows; SHA-1 is what authenticator apps default to. */
export type OtpAlgorithm = 'SHA-1' | 'SHA-256' | 'SHA-512';

export const MIN_DIGITS = 6;
export const MAX_DIGITS = 8;

/**
 * Imports a raw OTP key once, so verifying several time steps (and several
 * requests in one isolate, if the caller caches it) costs no re-import.
 */
export function importOtpKey(secret: Uint8Array, algorithm: OtpAlgorithm = 'SHA-1'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: algorithm }, false, ['sign']);
}

/** RFC 4226 §5.3: HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
export async function hotp(key: CryptoKey, counter: number, digits = MIN_DIGITS): Promise<string> {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('counter must be a non-negative safe integer');
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`digits must be ${MIN_DIGITS} to ${MAX_DIGITS}`);
  }
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary =
    ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return (binary % 10 ** digits).toString().padStart(digits, '0');
}

/** Compares a submitted code with the expected one in constant time. */
export async function verifyHotp(key: CryptoKey, code: string, counter: number, digits = MIN_DIGITS): Promise<boolean> {
  return timingSafeEqualText(await hotp(key, counter, digits), code);
}
