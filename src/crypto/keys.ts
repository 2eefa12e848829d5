const encoder = new TextEncoder();

type DerivedKeyAlgorithm = Parameters<SubtleCrypto['deriveKey']>[2];
type KeyUsages = Parameters<SubtleCrypto['deriveKey']>[4];

/**
 * Derives independent keys from one secret with HKDF-SHA-256 (RFC 5869), so
 * the key that encrypts TOTP secrets never doubles as the one that hashes
 * recovery codes.
 */
async function deriveKey(
  secret: string,
  info: string,
  algorithm: DerivedKeyAlgorithm,
  usages: KeyUsages,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('edge-mfa'), info: encoder.encode(info) },
    base,
    algorithm,
    false,
    usages,
  );
}

export function deriveAesGcmKey(secret: string, info: string): Promise<CryptoKey> {
  return deriveKey(secret, info, { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']);
}

export function deriveHmacKey(secret: string, info: string): Promise<CryptoKey> {
  return deriveKey(secret, info, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']);
}

/** The JWT key: HS256 over the secret's bytes, imported once. */
export function importJwtKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}
