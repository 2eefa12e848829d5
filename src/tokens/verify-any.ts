import { decodeProtectedHeader } from 'jose';
import type { Db } from '../db/client';
import type { Settings } from '../settings';
import { ACCESS_TOKEN_TYP, checkAccessToken, type AccessTokenClaims, type AccessTokenSettings } from './access-token';
import { checkToken, type TokenClaims } from './jwt';

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
  const verdict = await checkAnyToken(db, settings, token, nowSeconds);
  return verdict === 'expired' ? null : verdict;
}

/**
 * verifyAnyToken, with one more answer: 'expired' for a token that would have
 * been accepted a little earlier (genuine signature of ours, pinned algorithm,
 * right kind), so the 401 may say "expired" (RFC 6750 §3) and a client knows
 * to refresh. Forged, foreign, malformed or retired-key tokens stay null.
 */
export async function checkAnyToken(
  db: Db,
  settings: Settings & AccessTokenSettings,
  token: string,
  nowSeconds: number,
): Promise<VerifiedToken | 'expired' | null> {
  let alg: unknown;
  let typ: unknown;
  try {
    ({ alg, typ } = decodeProtectedHeader(token));
  } catch {
    return null;
  }
  if (alg === 'EdDSA' && typ === ACCESS_TOKEN_TYP) {
    const claims = await checkAccessToken(db, settings, token, nowSeconds);
    if (claims && 'expired' in claims) return 'expired';
    return claims ? { kind: 'access', claims } : null;
  }
  if (alg === 'HS256' && typ === 'JWT') {
    const claims = await checkToken(settings, token, nowSeconds);
    // Only a password-only HS256 token was ever good here; an old full one stays unknown.
    if (claims && 'expired' in claims) return claims.payload.authorized === false ? 'expired' : null;
    return claims && !claims.authorized ? { kind: 'password-only', claims } : null;
  }
  return null;
}
