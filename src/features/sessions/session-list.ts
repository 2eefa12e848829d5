import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import type { AuthContext } from '../../core/sessions/lookup';
import { presentedSessionLive } from '../../core/sessions/guards';
import { sessionEndedEvent } from '../../core/events';
import { revokeSession, revokeUserSessions, sessionLive, type ClientInfo } from '../../core/sessions/store';
import { isoInstant } from '../../core/time';


export interface SessionView {
  id: string;
  current: boolean;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  amr: string[];
  userAgent: string | null;
  ip: string | null;
}

/** GET /sessions: the user's live sessions, newest first. */
export async function listSessions(db: Db, settings: Settings, auth: AuthContext, now: number): Promise<SessionView[]> {
  const rows = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, auth.user.id), sessionLive(now, settings.sessionIdleSeconds)))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(100);
  return rows.map((row) => ({
    id: row.id,
    current: row.id === auth.sessionId,
    createdAt: isoInstant(row.createdAt),
    lastUsedAt: isoInstant(row.lastUsedAt),
    expiresAt: isoInstant(row.authorized ? Math.min(row.expiresAt, row.lastUsedAt + settings.sessionIdleSeconds) : row.expiresAt),
    amr: row.amr.split(' '),
    userAgent: row.userAgent,
    ip: row.ip,
  }));
}

/**
 * DELETE /sessions/:id: another user's session, or one already ended (revoked,
 * past its absolute end or idle too long), is 404 alike: only a live session of
 * the caller's is ended (and logged).
 */
export async function endSession(db: Db, settings: Settings, auth: AuthContext, sessionId: string, now: number, client: ClientInfo): Promise<void> {
  const liveAndMine = and(eq(sessions.userId, auth.user.id), sessionLive(now, settings.sessionIdleSeconds))!;
  const [, ended] = await db.batch([
    // The event first, under the very condition of the revoke below: it is written exactly when the revoke changes a row.
    sessionEndedEvent(db, { userId: auth.user.id, sessionId, client }, now, sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${liveAndMine})`),
    revokeSession(db, sessionId, now, liveAndMine).returning({ id: sessions.id }),
  ]);
  if (ended.length !== 1) throw new ApiError('not_found');
  logEvent('session_ended', { userId: auth.user.id, sessionId, reason: sessionId === auth.sessionId ? 'this' : 'other' });
}

export type LogoutScope = 'current' | 'others' | 'all';

/**
 * POST /logout. A password-only token may end only its own session: whoever
 * has just the password must not be able to sign the real user out everywhere.
 */
export async function logout(db: Db, auth: AuthContext, scope: LogoutScope, now: number, client: ClientInfo = { userAgent: null, ip: null }): Promise<void> {
  if (scope !== 'current' && !auth.authorized) throw new ApiError('mfa_required');
  await db.batch([
    // Before the revocation, while the session is live: two logouts at once leave one event.
    sessionEndedEvent(db, { userId: auth.user.id, sessionId: auth.sessionId, client, reason: scope === 'current' ? null : scope }, now, presentedSessionLive(auth, now)),
    scope === 'current'
      ? revokeSession(db, auth.sessionId, now, presentedSessionLive(auth, now))
      : revokeUserSessions(db, auth.user.id, now, scope === 'others' ? { keepSessionId: auth.sessionId } : {}),
  ]);
  logEvent('logout', { userId: auth.user.id, sessionId: auth.sessionId, reason: scope });
}
