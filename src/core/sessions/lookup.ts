import { and, eq, lt } from 'drizzle-orm';
import { SESSION_TOUCH_INTERVAL_SECONDS } from '../../settings/tunables';
import type { Db } from '../../db/client';
import { batchPrebuilt, prebuilt, prefixedColumns } from '../../db/prebuilt';
import { withReadRetry } from '../../db/read-retry';
import { sessions, users, type SessionRow, type UserRow } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { TokenClaims } from '../../tokens/jwt';
import { passkeyCount } from '../factors';
import { unusedRecoveryCodeCount } from '../recovery-codes';
import { sessionLiveAt } from './store';

/** Who is calling, as of this request: the token's claims checked against its live session. */
export interface AuthContext {
  claims: TokenClaims;
  /** The user row as of this request. */
  user: UserRow;
  sessionId: string;
  /** True once a second factor was verified for this session. */
  authorized: boolean;
  /** Unused recovery codes, read in the same query (for /me). */
  recoveryCodesRemaining: number;
  /** The user's passkeys, read in the same query (methods, "a second factor is active"). */
  passkeyCount: number;
  /** When a second factor was last proven in this session (null for a password-only session). */
  authTime: number | null;
  /** The session row as of this request. */
  session: SessionRow;
}

/**
 * The token's session and user, if the session is live: one D1 read, built
 * once per isolate (src/db/prebuilt.ts), that also fits a hot path's batch:
 * each table's columns are selected under prefixed names, since in a batch
 * D1 names a row's values by column and the JOIN's duplicates (id,
 * created_at) would collide. The recovery-code count rides along (an index
 * range scan of at most ten rows) so /me needs no second round trip: one
 * fewer query cut its gap to a one-read baseline (BENCHMARKS.md).
 */
export const liveSessionRead = prebuilt(['sid', 'now', 'idleCutoff'], (db, p) =>
  db
    .select({
      session: prefixedColumns(sessions, 's_'),
      user: prefixedColumns(users, 'u_'),
      recoveryCodesRemaining: unusedRecoveryCodeCount(users.id),
      passkeyCount: passkeyCount(),
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, p.sid), sessionLiveAt(p.now, p.idleCutoff)))
    .limit(1),
);

/** liveSessionRead for the token's session at `now`. */
export function liveSessionOf(db: Db, claims: TokenClaims, now: number, idleSeconds: number) {
  return liveSessionRead(db, { sid: claims.sid, now, idleCutoff: now - idleSeconds });
}

type LiveSessionRow = { session: SessionRow; user: UserRow; recoveryCodesRemaining: number; passkeyCount: number };

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
    passkeyCount: row.passkeyCount,
    authTime: row.session.authTime,
    session: row.session,
  };
}

/** The caller's live session, or 401/403 as `toAuthContext` says. */
export async function authenticate(db: Db, claims: TokenClaims, level: 'any' | 'full', now: number, idleSeconds: number): Promise<AuthContext> {
  const [[row]] = await withReadRetry(() => batchPrebuilt(db, [liveSessionOf(db, claims, now, idleSeconds)]));
  return toAuthContext(row, claims, level);
}

/**
 * A successful authenticated call renews a full session's idle limit, with a
 * write at most once per SESSION_TOUCH_INTERVAL_SECONDS (guarded, so
 * concurrent calls write once). A refused request (4xx) changes nothing stored.
 */
export async function touchSession(db: Db, auth: AuthContext, now: number): Promise<void> {
  if (!auth.authorized || now - auth.session.lastUsedAt < SESSION_TOUCH_INTERVAL_SECONDS) return;
  await db
    .update(sessions)
    .set({ lastUsedAt: now })
    .where(and(eq(sessions.id, auth.sessionId), lt(sessions.lastUsedAt, now - SESSION_TOUCH_INTERVAL_SECONDS + 1)));
}
