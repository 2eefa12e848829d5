/** RFC 4648 §6 base32 (the alphabet authenticator apps use for TOTP keys). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Encodes bytes; `pad` adds the RFC 4648 `=` padding (otpauth URIs omit it). */
export function base32Encode(bytes: Uint8Array, pad = false): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (pad) while (out.length % 8 !== 0) out += '=';
  return out;
}

/**
 * Decodes base32, case-insensitively and with or without padding. Returns null
 * for any character outside the alphabet or a length no encoder can produce.
 */
export function base32Decode(text: string): Uint8Array | null {
  const trimmed = text.replace(/=+$/, '');
  // Check before upper-casing: toUpperCase maps some non-ASCII letters into the
  // alphabet ('ı' to 'I', 'ſ' to 'S') and 'ß' to two letters.
  if (!/^[A-Za-z2-7]*$/.test(trimmed)) return null;
  const clean = trimmed.toUpperCase();
  // Lengths 1, 3 and 6 (mod 8) cannot come from whole bytes.
  if ([1, 3, 6].includes(clean.length % 8)) return null;
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of clean) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) return null;
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[index++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
