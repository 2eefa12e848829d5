import { base64url } from 'jose';
import type { Db } from '../db/client';
import { rsaJwksOf, type RsaPublicJwk } from './rsa-signing-keys';
import { publishedKeys } from './signing-keys';

/** RFC 7517 §5 JWK Set of public members only (RFC 8037 §2: an OKP public key is kty, crv, x). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** The Ed25519 keys, and with the OpenID Provider on, their RSA partners too. */
export interface JwksDocument<K = PublicJwk> {
  keys: K[];
}

export interface JwksResponse<K = PublicJwk> {
  document: JwksDocument<K>;
  /** The exact body to send: the ETag is computed over these bytes. */
  body: string;
  /** A strong entity tag (RFC 9110 §8.8.3), quoted. */
  etag: string;
}

/**
 * The JWKS at `now`: keys published and not revoked (and, with `rsa`, their RSA partners), built field by field
 * from the row's public columns, so no private member can ever appear.
 */
export async function jwks(db: Db, now: number): Promise<JwksResponse>;
export async function jwks(db: Db, now: number, options: { rsa: boolean }): Promise<JwksResponse<PublicJwk | RsaPublicJwk>>;
export async function jwks(db: Db, now: number, { rsa = false }: { rsa?: boolean } = {}): Promise<JwksResponse<PublicJwk | RsaPublicJwk>> {
  const rows = await publishedKeys(db, now);
  const keys = rows.map((row): PublicJwk => ({ kty: 'OKP', crv: 'Ed25519', x: row.publicX, kid: row.kid, alg: 'EdDSA', use: 'sig' }));
  // With the OpenID Provider on, each key's RSA partner follows it (src/tokens/rsa-signing-keys.ts).
  const document: JwksDocument<PublicJwk | RsaPublicJwk> = { keys: rsa ? [...keys, ...rsaJwksOf(rows)] : keys };
  const body = JSON.stringify(document);
  return { document, body, etag: await etagOf(body) };
}

/** A hash of the body: every isolate computes the same tag for the same key set. */
export async function etagOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  return `"${base64url.encode(digest.subarray(0, 16))}"`;
}

/**
 * RFC 9110 §13.1.2: true when If-None-Match matches `etag`, so the answer is
 * 304. `*` matches any current representation; otherwise the header is a
 * comma-separated list of entity tags compared weakly (a `W/` prefix on either
 * side is ignored). A header that does not parse matches nothing (a 200).
 */
export function ifNoneMatchMatches(header: string | null | undefined, etag: string): boolean {
  if (header === null || header === undefined) return false;
  const value = header.trim();
  if (value === '*') return true;
  const ours = opaqueTag(etag);
  if (ours === null) return false;
  // An entity tag is W/"..." or "...": its characters exclude '"' but may include ','.
  const tags = value.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => opaqueTag(tag) === ours);
}

function opaqueTag(tag: string): string | null {
  const text = tag.startsWith('W/') ? tag.slice(2) : tag;
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text : null;
}

/**
 * What the route sets (API.md): cacheable, unlike every other response, and
 * readable from any origin. stale-while-revalidate is 30 s, not 600: with 600 a
 * cache could serve a revoked key for 15 minutes where the README promises about
 * 5. Now the longest a revoked key is served is 300 s + 30 s from a cache, plus
 * the route's 5 s isolate cache: 5 min 35 s.
 */
export const JWKS_HEADERS = {
  'Cache-Control': 'public, max-age=300, stale-while-revalidate=30',
  'Access-Control-Allow-Origin': '*',
  'Content-Type': 'application/json',
} as const;
