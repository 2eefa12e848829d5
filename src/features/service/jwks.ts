import { primaryDb } from '../../db/shards';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { jwksResponse } from '../../http/openapi/responses';
import { ensureRsaPartners } from '../../tokens/rsa-signing-keys';
import { ifNoneMatchMatches, jwks, JWKS_HEADERS } from '../../tokens/jwks';
import { nowSeconds } from '../../core/time';

const jwksRoute = declareRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tag: 'sessions',
  summary: 'The public keys that verify access tokens',
  description:
    'RFC 7517 JWK Set of the Ed25519 keys (public members only) that sign access tokens, including the next key 48 h before it signs and a retired one for 24 h past its last token. The one cacheable response: `Cache-Control: public, max-age=300`, an `ETag` (`304` for a matching `If-None-Match`), readable from any origin.',
  token: 'none',
  success: {
    status: 200,
    description: 'The key set.',
    schema: jwksResponse,
    headers: {
      ETag: { description: 'A strong validator of the body (RFC 9110 §8.8.3).', schema: { type: 'string' } },
      'Cache-Control': { description: '`public, max-age=300, stale-while-revalidate=600`.', schema: { type: 'string' } },
    },
  },
  notModified: true,
  errors: [],
});

export const keys = routeGroup().openapi(jwksRoute, async (c) => {
  const now = nowSeconds();
  const settings = c.get('settings');
  // The OpenID Provider's RSA keys (RS256 ID tokens) beside the Ed25519 ones, only while it is on.
  const rsa = settings.issuerUrl !== null;
  if (rsa) await ensureRsaPartners(primaryDb(c.env), settings, now);
  const { document, etag } = await jwks(primaryDb(c.env), now, { rsa });
  const headers = { ...JWKS_HEADERS, ETag: etag };
  // RFC 9110 §15.4.5: a 304 carries the validators and caching headers a 200 would have.
  if (ifNoneMatchMatches(c.req.header('If-None-Match'), etag)) return c.body(null, 304, headers);
  // c.json serializes the document exactly as jwks() did for the ETag.
  return c.json(document, 200, headers);
});
