import { base64Decode, base64Encode } from './base64';
import { randomBytes } from './random';

const VERSION = 'v1';
const IV_BYTES = 12;
const encoder = new TextEncoder();

/**
 * AES-256-GCM with a fresh 96-bit IV (NIST SP 800-38D §8.2.2). The associated
 * data binds the ciphertext to its owner, so a ciphertext copied into another
 * user's row does not decrypt.
 */
export async function seal(key: CryptoKey, plaintext: Uint8Array, associatedData: string): Promise<string> {
  const iv = randomBytes(IV_BYTES);
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(associatedData) },
    key,
    plaintext,
  );
  return `${VERSION}.${base64Encode(iv)}.${base64Encode(new Uint8Array(ciphertext))}`;
}

/** Returns the plaintext, or null if the box was tampered with, is for another owner or is malformed. */
export async function open(key: CryptoKey, box: string, associatedData: string): Promise<Uint8Array | null> {
  const fields = box.split('.');
  if (fields.length !== 3) return null;
  const [version, ivText, ciphertextText] = fields;
  if (version !== VERSION || !ivText || !ciphertextText) return null;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: base64Decode(ivText), additionalData: encoder.encode(associatedData) },
      key,
      base64Decode(ciphertextText),
    );
    return new Uint8Array(plaintext);
  } catch {
    return null;
  }
}
