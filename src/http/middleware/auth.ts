import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { authenticate, touchSession } from '../../core/sessions/lookup';
import { requireRecentAuthentication } from '../../core/sessions/step-up';
import { primaryDb } from '../../db/shards';
import type { AppEnv } from '../app-env';
import { ApiError, TOKEN_EXPIRED_MESSAGE } from '../../core/errors';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import type { TokenClaims } from '../../tokens/jwt';
import { checkAnyToken } from '../../tokens/verify-any';
import { sessionShardDb } from './shard';

// RFC 9110 §11.1: the scheme name is case-insensitive. Two Authorization
// headers arrive joined by a comma, which the token syntax refuses.
const BEARER = /^Bearer +([A-Za-z0-9_\-.]+)$/i;

/** What a route needs of either kind of token, whose session is then checked against it. */
async function verifiedClaims(c: Context<AppEnv>, token: string, now: number): Promise<TokenClaims | 'expired' | null> {
  // The signing keys live on the primary shard.
  const verified = await checkAnyToken(primaryDb(c.env), c.get('settings'), token, now);
  if (!verified || verified === 'expired') return verified;
  if (verified.kind === 'password-only') return verified.claims;
  const { sub, username, sid, jti, amr, iat, exp, auth_time } = verified.claims;
  return { sub, username, sid, jti, authorized: true, amr, iat, exp, authTime: auth_time };
}

/**
 * The bearer token's verified claims (signature with the pinned algorithm of
 * its kind, iss, aud, exp); 401 otherwise, saying "expired" only of a genuine token. No D1 read for a password-only
 * token; an access token's key comes from the per-isolate key cache.
 */
export async function verifyBearer(c: Context<AppEnv>, now: number): Promise<TokenClaims> {
  const match = BEARER.exec(c.req.header('Authorization') ?? '');
  const claims = match ? await verifiedClaims(c, match[1]!, now) : null;
  if (claims === 'expired') {
    // Genuine but late: saying so (RFC 6750 error_description) tells a client to refresh.
    logEvent('token_refused', { reason: 'expired_token' });
    throw new ApiError('unauthorized', { tokenExpired: true, message: TOKEN_EXPIRED_MESSAGE });
  }
  if (!claims) {
    logEvent('token_refused', { reason: match ? 'invalid_token' : 'missing_token' });
    throw new ApiError('unauthorized');
  }
  return claims;
}

/**
 * Bearer authentication. A token is good only while its session row is live,
 * so logout and MFA changes take effect at once.
 */
export function requireAuth(level: 'any' | 'full') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const now = nowSeconds();
    const claims = await verifyBearer(c, now);
    // The session's shard, named by its verified id.
    const db = sessionShardDb(c, claims.sid);
    const auth = await authenticate(db, claims, level, now, c.get('settings').sessionIdleSeconds);
    c.set('auth', auth);
    await next();
    if (c.res.status < 400) await touchSession(db, auth, now);
  });
}

/** After requireAuth('full'): the sensitive routes need a recent second factor (API.md step-up). */
export const requireStepUp = createMiddleware<AppEnv>(async (c, next) => {
  requireRecentAuthentication(c.get('auth'), nowSeconds());
  await next();
});

/** Verifies the token only (no D1 read) and hands its claims on, for a flow that reads the session in its own batch. */
export const requireBearer = createMiddleware<AppEnv>(async (c, next) => {
  c.set('claims', await verifyBearer(c, nowSeconds()));
  await next();
});

/**
 * API.md, order of checks: on a route whose flow reads the session itself, a
 * dead session is still 401 before a bad body is 400/413/415.
 */
export async function ensureSessionBeforeBodyError(c: Context<AppEnv>, error: unknown): Promise<never> {
  const claims = c.get('claims');
  if (claims && !c.get('auth')) await authenticate(sessionShardDb(c, claims.sid), claims, 'any', nowSeconds(), c.get('settings').sessionIdleSeconds);
  throw error;
}
