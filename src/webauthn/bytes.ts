import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { base64urlDecode } from '../crypto/base64';

/** Length in base64url characters (unpadded) of `bytes` bytes. */
export function base64urlChars(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/**
 * Strict base64url (RFC 4648 §5) of at most `maxBytes` bytes, or null. The length is checked
 * before decoding; padding is tolerated, non-zero trailing bits are not.
 */
export function decodeBase64urlBounded(value: unknown, maxBytes: number): Uint8Array | null {
  if (typeof value !== 'string' || value.length > base64urlChars(maxBytes) + 2) return null;
  const bytes = base64urlDecode(value);
  return bytes !== null && bytes.length <= maxBytes ? bytes : null;
}

export function base64url(bytes: Uint8Array): string {
  return encodeBase64urlNoPadding(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}
