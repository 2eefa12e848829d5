import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import type { AuthContext } from '../../core/sessions/lookup';
import { presentedSessionLive, sessionStillLive } from '../../core/sessions/guards';
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

/** DELETE /sessions/:id: another user's session, or one already gone, is 404 alike. */
export async function endSession(db: Db, auth: AuthContext, sessionId: string, now: number, client: ClientInfo): Promise<void> {
  const [, ended] = await db.batch([
    // The event first, while the session is still live: it is written exactly when the revoke below changes a row.
    sessionEndedEvent(db, { userId: auth.user.id, sessionId, client }, now, sessionStillLive(sessionId, auth.user.id, now)),
    revokeSession(db, sessionId, now, eq(sessions.userId, auth.user.id)).returning({ id: sessions.id }),
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
