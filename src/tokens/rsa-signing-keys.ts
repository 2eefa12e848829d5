import { and, eq, isNull } from 'drizzle-orm';
import { calculateJwkThumbprint } from 'jose';
import type { Db } from '../db/client';
import { signingKeys, type SigningKeyRow } from '../db/schema';
import { open, seal } from '../crypto/secret-box';
import { currentSigningKey, publishedKeys, type SigningKeySettings } from './signing-keys';

/**
 * The RSA key of the OpenID Provider (OIDC Core §15.1: RS256 must be
 * supported), one per Ed25519 signing key row and living in that row, so it
 * is published, signs and retires on the Ed25519 key's schedule without a
 * schedule of its own (src/tokens/signing-key-schedule.ts). A row gets its
 * partner by a guarded UPDATE while `rsa_kid` is null: of concurrent
 * callers one writes, the others re-read. Made only while ISSUER_URL is set.
 */

export const RSA_ALG = 'RS256';
/** NIST SP 800-57 Part 1 §5.6.1: 2048 bits are good to 2030; 3072 beyond. OIDC Core §10.1 asks for 2048 or more. */
export const RSA_MODULUS_BITS = 2048;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
/** 65537, RFC 7518 §6.3.1.2. */
const E = 'AQAB';

export interface RsaPublicJwk {
  kty: 'RSA';
  n: string;
  e: 'AQAB';
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

export interface RsaSigningKey {
  kid: string;
  key: CryptoKey;
}

const associatedData = (kid: string) => `signing-key|${RSA_ALG}|${kid}`;

async function generateRsaPartner(wrapKey: CryptoKey): Promise<{ kid: string; n: string; sealed: string }> {
  const pair = (await crypto.subtle.generateKey(
    { ...RSA, modulusLength: RSA_MODULUS_BITS, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  if (typeof jwk.n !== 'string' || jwk.e !== E) throw new Error('RSA public key export is not the expected shape');
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: E }, 'sha256');
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const sealed = await seal(wrapKey, pkcs8, associatedData(kid));
  pkcs8.fill(0);
  return { kid, n: jwk.n, sealed };
}

/**
 * Gives every published Ed25519 row without one its RSA partner, so a
 * successor's RSA key is published with it, 48 h before it signs. Returns the
 * published rows as they stand after the writes.
 */
export async function ensureRsaPartners(db: Db, settings: SigningKeySettings, now: number): Promise<SigningKeyRow[]> {
  const rows = await publishedKeys(db, now);
  const missing = rows.filter((row) => row.rsaKid === null);
  if (missing.length === 0) return rows;
  for (const row of missing) {
    const partner = await generateRsaPartner(settings.signingKeyWrapKey);
    await db
      .update(signingKeys)
      .set({ rsaKid: partner.kid, rsaN: partner.n, sealedRsaPrivateKey: partner.sealed })
      .where(and(eq(signingKeys.kid, row.kid), isNull(signingKeys.rsaKid)));
  }
  return publishedKeys(db, now);
}

/** The RSA public keys of `rows` (published rows), for the JWKS. */
export function rsaJwksOf(rows: SigningKeyRow[]): RsaPublicJwk[] {
  return rows.flatMap((row) => (row.rsaKid && row.rsaN ? [{ kty: 'RSA' as const, n: row.rsaN, e: E, kid: row.rsaKid, alg: RSA_ALG, use: 'sig' as const }] : []));
}

// Imported (non-extractable) RSA private keys per Ed25519 kid, for the isolate's life.
const imported = new WeakMap<Db, Map<string, RsaSigningKey>>();

/** The RSA key that signs at `now`: the partner of the Ed25519 key that signs at `now`. */
export async function currentRsaSigningKey(db: Db, settings: SigningKeySettings, now: number): Promise<RsaSigningKey> {
  const ed = await currentSigningKey(db, settings, now);
  let cache = imported.get(db);
  if (!cache) imported.set(db, (cache = new Map()));
  const cached = cache.get(ed.kid);
  if (cached) return cached;
  const row = (await ensureRsaPartners(db, settings, now)).find((candidate) => candidate.kid === ed.kid);
  if (!row?.rsaKid || !row.sealedRsaPrivateKey) throw new Error('the signing key has no RSA partner');
  const pkcs8 = await open(settings.signingKeyWrapKey, row.sealedRsaPrivateKey, associatedData(row.rsaKid));
  if (!pkcs8) throw new Error(`RSA signing key ${row.rsaKid} does not unseal: was TOTP_ENCRYPTION_KEY changed?`);
  try {
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, RSA, false, ['sign']);
    const signer = { kid: row.rsaKid, key };
    cache.set(ed.kid, signer);
    return signer;
  } finally {
    pkcs8.fill(0);
  }
}
