import type { Db } from '../db/client';
import type { Settings } from '../settings';
import { ACCESS_TOKEN_TYP, MAX_TOKEN_CHARS, verifyAccessJws, type AccessTokenClaims, type AccessTokenSettings } from './access-token';
import { decodeJsonSegment, parseCompactJws } from './compact-jws';
import { verifyToken, type TokenClaims } from './jwt';

export type VerifiedToken =
  | { kind: 'access'; claims: AccessTokenClaims }
  | { kind: 'password-only'; claims: TokenClaims };

/**
 * One entry point for a bearer token: the header picks the verifier, and
 * each verifier pins its own algorithm again, so the header only chooses
 * which lock to try, never how it opens. EdDSA + at+jwt goes to the access
 * verifier (JWKS keys); HS256 goes to the internal verifier and counts only
 * if it is password-only (`authorized: false`): full tokens are EdDSA now.
 */
export async function verifyAnyToken(
  db: Db,
  settings: Settings & AccessTokenSettings,
  token: string,
  nowSeconds: number,
): Promise<VerifiedToken | null> {
  if (token.length > MAX_TOKEN_CHARS) return null;
  // Split once: an Ed25519-shaped token goes on to the access verifier as parsed.
  const jws = parseCompactJws(token);
  const header = jws ? jws.header : decodeJsonSegment(token.slice(0, Math.max(0, token.indexOf('.'))));
  if (!header) return null;
  if (header.alg === 'EdDSA' && header.typ === ACCESS_TOKEN_TYP) {
    const claims = jws && (await verifyAccessJws(db, settings, jws, nowSeconds));
    return claims ? { kind: 'access', claims } : null;
  }
  if (header.alg === 'HS256' && header.typ === 'JWT') {
    const claims = await verifyToken(settings, token, nowSeconds);
    return claims && !claims.authorized ? { kind: 'password-only', claims } : null;
  }
  return null;
}
