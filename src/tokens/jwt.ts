import { errors, jwtVerify, SignJWT } from 'jose';
import type { ExpiredToken } from './access-token';
import type { Settings } from '../settings';

/** Pinned: a token whose header names any other algorithm (or `none`) is refused. */
const ALGORITHM = 'HS256';
export const AUDIENCE = 'edge-mfa';
/** Real tokens are under 600 bytes; anything far larger is refused before parsing. */
const MAX_TOKEN_CHARS = 4096;

export interface TokenClaims {
  sub: string;
  username: string;
  sid: string;
  jti: string;
  authorized: boolean;
  amr: string[];
  iat: number;
  exp: number;
  /** An access token's `auth_time`; a password-only token has none. */
  authTime?: number;
}

export type NewToken = Pick<TokenClaims, 'sub' | 'username' | 'sid' | 'authorized' | 'amr'>;

export function signToken(settings: Settings, claims: NewToken, nowSeconds: number, ttlSeconds: number): Promise<string> {
  return new SignJWT({ username: claims.username, sid: claims.sid, authorized: claims.authorized, amr: claims.amr })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(AUDIENCE)
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .sign(settings.jwtKey);
}

/** How old a token of this kind may be: the lifetime it was issued with. */
function maxAgeSeconds(settings: Settings, authorized: boolean): number {
  return authorized ? settings.accessTokenTtlSeconds : settings.mfaTokenTtlSeconds;
}

/**
 * Returns the claims of a genuine, unexpired token of ours, or null. The
 * algorithm, issuer and audience are pinned and `exp` is required; `iat` may
 * not lie in the future. Headers such as `jku`, `jwk` and `kid` are ignored:
 * the key is always our own, so nothing is ever fetched.
 */
export async function verifyToken(settings: Settings, token: string, nowSeconds: number): Promise<TokenClaims | null> {
  const checked = await checkToken(settings, token, nowSeconds);
  return checked && !('expired' in checked) ? checked : null;
}

/** verifyToken, telling apart a genuine token whose time is up (jose checks the signature and claims before exp and iat). */
export async function checkToken(settings: Settings, token: string, nowSeconds: number): Promise<TokenClaims | ExpiredToken | null> {
  if (token.length > MAX_TOKEN_CHARS) return null;
  try {
    const { payload } = await jwtVerify(token, settings.jwtKey, {
      algorithms: [ALGORITHM],
      issuer: settings.issuer,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      currentDate: new Date(nowSeconds * 1000),
      // The longer of the two lifetimes here (jose also refuses an `iat` in the
      // future only when given one); each kind's own is checked below.
      maxTokenAge: Math.max(settings.accessTokenTtlSeconds, settings.mfaTokenTtlSeconds),
    });
    const { sub, username, sid, jti, authorized, amr, iat, exp } = payload;
    if (typeof sub !== 'string' || typeof username !== 'string' || typeof sid !== 'string') return null;
    if (typeof jti !== 'string' || typeof authorized !== 'boolean' || typeof iat !== 'number' || typeof exp !== 'number') {
      return null;
    }
    // A password-only token is held to its own lifetime (API.md: at most 5 min),
    // whatever the full token's is: its age never borrows the longer one.
    if (nowSeconds - iat > maxAgeSeconds(settings, authorized)) return { expired: true, payload };
    if (!Array.isArray(amr) || !amr.every((value) => typeof value === 'string')) return null;
    return { sub, username, sid, jti, authorized, amr, iat, exp };
  } catch (error) {
    return error instanceof errors.JWTExpired ? { expired: true, payload: error.payload } : null;
  }
}
