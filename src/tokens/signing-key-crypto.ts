import { base64url, calculateJwkThumbprint } from 'jose';
import { deriveAesGcmKey } from '../crypto/keys';
import { open, seal } from '../crypto/secret-box';

/** RFC 8037 §3.1: Ed25519 in JOSE is `alg: EdDSA` (the name jose and hono/jwk accept). */
export const SIGNING_ALG = 'EdDSA';
/** HKDF info of the key that seals private signing keys: distinct from the TOTP and recovery-code keys. */
export const SIGNING_KEY_WRAP_INFO = 'edge-mfa signing key v1';

const ED25519 = { name: 'Ed25519' } as const;

export interface GeneratedSigningKey {
  kid: string;
  /** Public key, base64url (RFC 8037 §2 `x`). */
  x: string;
  /** The private key as PKCS#8: only ever sealed, never stored or logged as is. */
  pkcs8: Uint8Array;
}

/** The AES-GCM key that seals private signing keys, derived from TOTP_ENCRYPTION_KEY. */
export function deriveSigningKeyWrapKey(secret: string): Promise<CryptoKey> {
  return deriveAesGcmKey(secret, SIGNING_KEY_WRAP_INFO);
}

/** A fresh Ed25519 key pair from the Worker's WebCrypto; `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  // Extractable only for this moment: the PKCS#8 is sealed at once and the pair dropped.
  const pair = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  if (typeof publicJwk.x !== 'string') throw new Error('Ed25519 public key export has no x');
  const x = publicJwk.x;
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  return { kid, x, pkcs8 };
}

/** Associated data: a sealed key opens only in the row of its own kid and algorithm. */
function associatedData(kid: string, alg: string): string {
  return `signing-key|${alg}|${kid}`;
}

export function sealPrivateKey(wrapKey: CryptoKey, kid: string, alg: string, pkcs8: Uint8Array): Promise<string> {
  return seal(wrapKey, pkcs8, associatedData(kid, alg));
}

/**
 * Opens a sealed private key and imports it NON-extractable for signing, or
 * returns null when the box does not open (another row's blob, a changed
 * wrapping secret, tampering): the caller treats that key as unusable.
 */
export async function unsealPrivateKey(wrapKey: CryptoKey, kid: string, alg: string, sealed: string): Promise<CryptoKey | null> {
  if (alg !== SIGNING_ALG) return null;
  const pkcs8 = await open(wrapKey, sealed, associatedData(kid, alg));
  if (!pkcs8) return null;
  try {
    return await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign']);
  } catch {
    return null;
  } finally {
    pkcs8.fill(0);
  }
}

/** The public key for verification; throws on a corrupt row (a stored-data bug, not client input). */
export function importPublicKey(x: string): Promise<CryptoKey> {
  if (base64url.decode(x).length !== 32) throw new Error('signing key row has a malformed public key');
  return crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x }, ED25519, false, ['verify']);
}
