import { and, eq, sql, type Placeholder } from 'drizzle-orm';
import { REFRESH_GRACE_SECONDS } from '../../settings/tunables';
import type { Db } from '../../db/client';
import { batchPrebuilt, prebuilt } from '../../db/prebuilt';
import { sessions, users } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import { readRefreshToken } from '../../tokens/refresh-token';
import { issueSessionTokens, type SessionTokens } from '../../core/sessions/tokens';
import { refreshTokenReusedEvent } from '../../core/events';
import { revokeSession, sessionLive, sessionLiveAt, type ClientInfo } from '../../core/sessions/store';

/** Every refused refresh looks the same to the client (API.md). */
const refused = () => new ApiError('invalid_refresh_token');

function userOfSession(db: Db, sessionId: string | Placeholder) {
  return db
    .select({ id: users.id, username: users.username })
    .from(users)
    .where(eq(users.id, sql`(SELECT ${sessions.userId} FROM ${sessions} WHERE ${sessions.id} = ${sessionId})`))
    .limit(1);
}

/**
 * The rotation and the user's read, the whole of a successful refresh's D1 work
 * (one batch, one round trip), built once per isolate (src/db/prebuilt.ts). The
 * compare-and-swap: the presented generation, a full session, live at `now`.
 */
const rotation = prebuilt(['sid', 'generation', 'next', 'now', 'idleCutoff'], (db, p) =>
  db
    .update(sessions)
    .set({ generation: sql`${p.next}`, rotatedAt: sql`${p.now}`, lastUsedAt: sql`${p.now}` })
    .where(and(eq(sessions.id, p.sid), eq(sessions.generation, p.generation), eq(sessions.authorized, true), sessionLiveAt(p.now, p.idleCutoff)))
    .returning({ id: sessions.id, authTime: sessions.authTime, amr: sessions.amr, acr: sessions.acr, expiresAt: sessions.expiresAt, generation: sessions.generation, rotatedAt: sessions.rotatedAt }),
);
const sessionUser = prebuilt(['sid'], (db, p) => userOfSession(db, p.sid));

/**
 * POST /refresh: rotates the refresh token by one compare-and-swap on the
 * session's generation (no lock; the guard is the lock). The loser of a race,
 * a retry after a lost response, or a second tab presents the previous
 * generation within REFRESH_GRACE_SECONDS of its rotation and gets the same
 * new pair back. Any other reuse (an older generation, the previous one after
 * the grace or after its successor was used) means the token was copied: the
 * whole session is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
 */
export async function refreshSession(db: Db, settings: Settings, refreshToken: string, now: number, client?: ClientInfo): Promise<SessionTokens> {
  const presented = await readRefreshToken(settings.refreshKey, refreshToken);
  if (!presented) throw refused();
  const { sessionId, generation } = presented;
  const idleCutoff = now - settings.sessionIdleSeconds;
  const [[rotated], [user]] = await batchPrebuilt(db, [
    rotation(db, { sid: sessionId, generation, next: generation + 1, now, idleCutoff }),
    sessionUser(db, { sid: sessionId }),
  ]);
  if (rotated && user) {
    logEvent('token_refreshed', { userId: user.id, sessionId });
    return issueSessionTokens(db, settings, user, rotated, now);
  }
  const live = sessionLive(now, settings.sessionIdleSeconds);
  const [current] = await db.select().from(sessions).where(and(eq(sessions.id, sessionId), eq(sessions.authorized, true), live)).limit(1);
  if (!current || !user || current.userId !== user.id) throw refused();
  const previous = current.generation === generation + 1 && current.rotatedAt !== null;
  const withinGrace = previous && now - current.rotatedAt! <= REFRESH_GRACE_SECONDS;
  // The grace replays a refresh, never a /reauthenticate (which rotates with
  // auth_time = rotated_at): the token before a step-up must not pick up the
  // fresh auth_time. Within the grace it is refused without revoking: it may be
  // the owner's own request that crossed the step-up. Past the grace it is a
  // reuse like any other (below): no request of the owner's is that late.
  const crossedStepUp = current.authTime === current.rotatedAt && current.generation > 0;
  if (withinGrace && crossedStepUp) throw refused();
  if (withinGrace) return issueSessionTokens(db, settings, user, current, now);
  if (generation < current.generation) {
    await db.batch([
      refreshTokenReusedEvent(db, user.id, sessionId, client, now, sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.revokedAt} IS NULL)`),
      revokeSession(db, sessionId, now),
    ]);
    logEvent('refresh_token_reused', { userId: user.id, sessionId, reason: `generation ${generation} of ${current.generation}` });
  }
  throw refused();
}
