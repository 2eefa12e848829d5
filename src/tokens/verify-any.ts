import { decodeProtectedHeader } from 'jose';
import type { Db } from '../db/client';
import type { Settings } from '../settings';
import { ACCESS_TOKEN_TYP, verifyAccessToken, type AccessTokenClaims, type AccessTokenSettings } from './access-token';
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
  let alg: unknown;
  let typ: unknown;
  try {
    ({ alg, typ } = decodeProtectedHeader(token));
  } catch {
    return null;
  }
  if (alg === 'EdDSA' && typ === ACCESS_TOKEN_TYP) {
    const claims = await verifyAccessToken(db, settings, token, nowSeconds);
    return claims ? { kind: 'access', claims } : null;
  }
  if (alg === 'HS256' && typ === 'JWT') {
    const claims = await verifyToken(settings, token, nowSeconds);
    return claims && !claims.authorized ? { kind: 'password-only', claims } : null;
  }
  return null;
}
