import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getDb, type Db } from '../db/client';
import { unusedRecoveryCodeCount } from '../auth/recovery';
import { sessions, users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { nowSeconds } from '../time';
import { verifyToken, type TokenClaims } from '../tokens/jwt';

export interface AuthContext {
  claims: TokenClaims;
  /** The user row as of this request. */
  user: UserRow;
  sessionId: string;
  /** True once a second factor was verified for this session. */
  authorized: boolean;
  /** Unused recovery codes, read in the same query (for /me). */
  recoveryCodesRemaining: number;
}

const BEARER = /^Bearer ([A-Za-z0-9_\-.]+)$/;

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
 * The token's session and user, if the session is live: one D1 read. Not for
 * a db.batch(): there drizzle maps D1's rows by column name, and this JOIN's
 * duplicate names (id, created_at) would collide. The recovery-code count rides
 * along (an index range scan of at most ten rows) so /me needs no second
 * round trip: one fewer query cut its gap to a one-read baseline (BENCHMARKS.md).
 */
export function liveSessionQuery(db: Db, claims: TokenClaims, now: number) {
  return db
    .select({
      session: sessions,
      user: users,
      recoveryCodesRemaining: unusedRecoveryCodeCount(users.id),
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, claims.sid), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .limit(1);
}

type LiveSessionRow = Awaited<ReturnType<typeof liveSessionQuery>>[number];

/**
 * The session row is the source of truth: a token that claims more than its
 * session (another user, a second factor it never passed) is refused (401);
 * `level: 'full'` also needs a verified second factor (403 mfa_required).
 */
export function toAuthContext(row: LiveSessionRow | undefined, claims: TokenClaims, level: 'any' | 'full'): AuthContext {
  const owner = row && row.session.userId === claims.sub && row.user.id === claims.sub;
  if (!row || !owner || row.session.authorized !== claims.authorized) {
    logEvent('token_refused', { sessionId: claims.sid, reason: 'session_not_live' });
    throw new ApiError('unauthorized');
  }
  if (level === 'full' && !row.session.authorized) throw new ApiError('mfa_required');
  return {
    claims,
    user: row.user,
    sessionId: row.session.id,
    authorized: row.session.authorized,
    recoveryCodesRemaining: row.recoveryCodesRemaining,
  };
}

/**
 * Bearer authentication. A token is good only while its session row is live,
 * so logout and MFA changes take effect at once.
 */
export function requireAuth(level: 'any' | 'full') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const now = nowSeconds();
    const claims = await verifyBearer(c, now);
    const [row] = await liveSessionQuery(getDb(c.env.DB), claims, now);
    c.set('auth', toAuthContext(row, claims, level));
    await next();
  });
}

/** Verifies the token only (no D1 read) and hands its claims on, for a flow that reads the session in its own batch. */
export const requireBearer = createMiddleware<AppEnv>(async (c, next) => {
  c.set('claims', await verifyBearer(c, nowSeconds()));
  await next();
});
