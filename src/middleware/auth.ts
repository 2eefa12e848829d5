import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { authenticate } from '../auth/session-lookup';
import { requireRecentAuthentication } from '../auth/step-up';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { nowSeconds } from '../time';
import { verifyToken, type TokenClaims } from '../tokens/jwt';

// RFC 9110 §11.1: the scheme name is case-insensitive. Two Authorization
// headers arrive joined by a comma, which the token syntax refuses.
const BEARER = /^Bearer +([A-Za-z0-9_\-.]+)$/i;

/** The bearer token's verified claims (signature, alg, iss, aud, exp); 401 otherwise. No D1 read. */
export async function verifyBearer(c: Context<AppEnv>, now: number): Promise<TokenClaims> {
  const match = BEARER.exec(c.req.header('Authorization') ?? '');
  const claims = match ? await verifyToken(c.get('settings'), match[1]!, now) : null;
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
    c.set('auth', await authenticate(getDb(c.env.DB), claims, level, now));
    await next();
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
  if (claims && !c.get('auth')) await authenticate(getDb(c.env.DB), claims, 'any', nowSeconds());
  throw error;
}
