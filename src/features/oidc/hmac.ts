import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';

/**
 * Tags under the provider's HMAC key (Settings.oidcKey). Each use names its
 * purpose first, so a tag made for one (a cookie) never passes as another
 * (a CSRF token). Nothing stored rebuilds a tag: the key never leaves the Worker.
 */
const encoder = new TextEncoder();
const TAG = /^[A-Za-z0-9_-]{43}$/;

export async function tagOf(key: CryptoKey, purpose: string, ...parts: string[]): Promise<string> {
  const message = encoder.encode([purpose, ...parts].join('\u0000'));
  return encodeBase64urlNoPadding(new Uint8Array(await crypto.subtle.sign('HMAC', key, message)));
}

/** Checked by WebCrypto's verify, in constant time. */
export async function tagMatches(key: CryptoKey, tag: string, purpose: string, ...parts: string[]): Promise<boolean> {
  if (!TAG.test(tag)) return false;
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64urlIgnorePadding(tag);
  } catch {
    // The 43rd character carries bits past the 32 bytes ('x'): a forgery like any other, never a 500.
    return false;
  }
  const message = encoder.encode([purpose, ...parts].join('\u0000'));
  return crypto.subtle.verify('HMAC', key, bytes, message);
}
