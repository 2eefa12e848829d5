import { primaryDb } from '../../db/shards';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { jwksResponse } from '../../http/openapi/responses';
import { ensureRsaPartners, type RsaPublicJwk } from '../../tokens/rsa-signing-keys';
import { ifNoneMatchMatches, jwks, JWKS_HEADERS, type JwksResponse, type PublicJwk } from '../../tokens/jwks';
import type { Settings } from '../../settings';
import { nowSeconds } from '../../core/time';

const jwksRoute = declareRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tag: 'sessions',
  summary: 'The public keys that verify access tokens',
  description:
    'RFC 7517 JWK Set of the Ed25519 keys (public members only) that sign access tokens, including the next key 48 h before it signs and a retired one for 24 h past its last token. The one cacheable response: `Cache-Control: public, max-age=300, stale-while-revalidate=30`, an `ETag` (`304` for a matching `If-None-Match`), readable from any origin. Each isolate keeps the keys it read for 5 s (a request that finds no fresh copy reads them itself, never awaiting another request’s read), so a revoked key leaves this answer within 5 s and HTTP caches within 5 min 35 s.',
  token: 'none',
  success: {
    status: 200,
    description: 'The key set.',
    schema: jwksResponse,
    headers: {
      ETag: { description: 'A strong validator of the body (RFC 9110 §8.8.3).', schema: { type: 'string' } },
      'Cache-Control': { description: '`public, max-age=300, stale-while-revalidate=30`.', schema: { type: 'string' } },
    },
  },
  notModified: true,
  errors: [],
});

/**
 * The JWKS of this isolate, kept JWKS_ISOLATE_CACHE_MS from the start of its read.
 * The route is public and outside the flood filter, and every read went to the
 * primary shard, whose writes are serialized: anyone could spend its budget by
 * asking for the JWKS in a loop. Five seconds makes that one read per isolate per
 * five seconds, and an emergency revoke still leaves every isolate's answer within
 * five seconds (then HTTP caches, up to Cache-Control's max-age and
 * stale-while-revalidate: src/tokens/jwks.ts).
 */
export const JWKS_ISOLATE_CACHE_MS = 5_000;
type ServedJwks = JwksResponse<PublicJwk | RsaPublicJwk>;
const cached = new WeakMap<Env, { at: number; value: ServedJwks }>();

async function readJwks(env: Env, settings: Settings): Promise<ServedJwks> {
  const now = nowSeconds();
  // The OpenID Provider's RSA keys (RS256 ID tokens) beside the Ed25519 ones, only while it is on.
  const rsa = settings.issuerUrl !== null;
  if (rsa) await ensureRsaPartners(primaryDb(env), settings, now);
  return jwks(primaryDb(env), now, { rsa });
}

/**
 * Only a settled answer is kept and shared; a read in flight is not. A request
 * whose client leaves is cancelled by the runtime with the D1 read it started,
 * and a promise of that read never settles: every request awaiting it hung,
 * and the cache kept it for its 5 s (test/features/service/jwks-cancelled-read).
 * So each request that finds no fresh answer reads for itself (the requests in
 * flight in the instant the copy expires, once per 5 s); a failed read keeps nothing.
 */
async function cachedJwks(env: Env, settings: Settings): Promise<ServedJwks> {
  const hit = cached.get(env);
  // Math.abs: a clock set back (tests) is no reason to keep an old answer.
  if (hit && Math.abs(Date.now() - hit.at) < JWKS_ISOLATE_CACHE_MS) return hit.value;
  const at = Date.now();
  const value = await readJwks(env, settings);
  cached.set(env, { at, value });
  return value;
}

export const keys = routeGroup().openapi(jwksRoute, async (c) => {
  const { document, etag } = await cachedJwks(c.env, c.get('settings'));
  const headers = { ...JWKS_HEADERS, ETag: etag };
  // RFC 9110 §15.4.5: a 304 carries the validators and caching headers a 200 would have.
  if (ifNoneMatchMatches(c.req.header('If-None-Match'), etag)) return c.body(null, 304, headers);
  // c.json serializes the document exactly as jwks() did for the ETag.
  return c.json(document, 200, headers);
});
