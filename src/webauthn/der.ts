/**
 * The little DER (ITU-T X.690) this verifier needs: reading an ECDSA signature and writing
 * an RSA SubjectPublicKeyInfo. Nothing general: each shape is spelled out and checked.
 */
import { concatBytes } from './bytes';

/**
 * An ECDSA signature `SEQUENCE { INTEGER r, INTEGER s }` (RFC 3279 §2.2.3, which WebAuthn
 * L3 §6.5.5 requires for ES256) as the raw `r || s` WebCrypto verifies, each `size` bytes.
 * Null unless it is canonical DER: short lengths, minimal positive integers, no trailing bytes.
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2 || der[1]! >= 0x80) return null;
  const raw = new Uint8Array(size * 2);
  let offset = 2;
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== 0x02) return null;
    const length = der[offset + 1]!;
    const start = offset + 2;
    if (length === 0 || length > size + 1 || start + length > der.length) return null;
    const first = der[start]!;
    if (first & 0x80) return null; // negative
    if (first === 0 && (length === 1 || !(der[start + 1]! & 0x80))) return null; // not minimal
    const value = der.subarray(first === 0 ? start + 1 : start, start + length);
    if (value.length > size) return null;
    raw.set(value, part * size + size - value.length);
    offset = start + length;
  }
  return offset === der.length ? raw : null;
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  return Uint8Array.of(0x82, length >> 8, length & 0xff);
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), encodeLength(value.length), value);
}

/** A positive INTEGER from big-endian magnitude bytes: leading zeros dropped, one added if needed. */
function positiveInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed);
}

/** AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL } (RFC 3279 §2.3.1). */
const RSA_ALGORITHM_IDENTIFIER = Uint8Array.of(
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
);

/** SubjectPublicKeyInfo (RFC 5280 §4.1) of an RSAPublicKey { n, e } (RFC 8017 §A.1.1). */
export function rsaSpki(n: Uint8Array, e: Uint8Array): Uint8Array {
  const rsaPublicKey = tlv(0x30, concatBytes(positiveInteger(n), positiveInteger(e)));
  const bitString = tlv(0x03, concatBytes(Uint8Array.of(0), rsaPublicKey));
  return tlv(0x30, concatBytes(RSA_ALGORITHM_IDENTIFIER, bitString));
}

/** SPKI prefix of an uncompressed P-256 point (RFC 5480 §2: id-ecPublicKey, secp256r1). */
export const P256_SPKI_PREFIX = Uint8Array.of(
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
  0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
);

/** SPKI prefix of an Ed25519 key (RFC 8410 §4: id-Ed25519 1.3.101.112). */
export const ED25519_SPKI_PREFIX = Uint8Array.of(
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
);
