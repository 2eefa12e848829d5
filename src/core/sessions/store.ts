import { and, eq, inArray, isNull, ne, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { insertIf } from '../../db/guarded-insert';
import { sessions, type UserRow } from '../../db/schema';
import { idOnShardOf } from '../../db/shard-ids';
import type { Settings } from '../../settings';
import { signToken } from '../../tokens/jwt';

/** A session row to insert, every column given (insertSessionIf lists them in table order). */
export type NewSession = typeof sessions.$inferInsert & {
  authorized: boolean;
  createdAt: number;
  expiresAt: number;
  authTime: number | null;
  amr: string;
  acr: string | null;
  generation: number;
  rotatedAt: number | null;
  lastUsedAt: number;
  userAgent: string | null;
  ip: string | null;
  revokedAt: null;
};

/** RFC 8176 authentication method references (`pop`: a passkey). `rec` (a recovery code) is our own value. */
export type AuthMethods = ['pwd'] | ['pwd', 'otp'] | ['pwd', 'rec'] | ['pwd', 'pop'] | ['pop', 'mfa'];

/** Where a session began, as GET /sessions shows it. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/**
 * A password-only session ends with its token (MFA_TOKEN_TTL_SECONDS); a full
 * one SESSION_MAX_SECONDS after its second factor, or earlier when idle.
 */
export function newSession(settings: Settings, userId: string, authorized: boolean, now: number, amr: AuthMethods = authorized ? ['pwd', 'otp'] : ['pwd'], client: ClientInfo = { userAgent: null, ip: null }): NewSession {
  const ttl = authorized ? settings.sessionMaxSeconds : settings.mfaTokenTtlSeconds;
  return {
    // On the user's shard (src/db/shard-ids.ts), so the token's sid routes there.
    id: idOnShardOf(userId),
    userId,
    authorized,
    createdAt: now,
    expiresAt: now + ttl,
    revokedAt: null,
    authTime: authorized ? now : null,
    amr: amr.join(' '),
    // aal2 (null); a passwordless sign-in sets its own (src/core/passwordless/).
    acr: null,
    generation: 0,
    rotatedAt: authorized ? now : null,
    lastUsedAt: now,
    userAgent: client.userAgent,
    ip: client.ip,
  };
}

export function insertSession(db: Db, session: NewSession) {
  return db.insert(sessions).values(session);
}

/**
 * Inserts the session only if `guard` holds when the statement runs. Placed
 * first in a db.batch() (one transaction), it turns a guard into a marker that
 * the rest of the batch can test with `sessionExists`: D1 has no interactive
 * transactions, so this is how one request's check and its writes stay one
 * atomic step, and how two concurrent requests cannot both pass.
 */
export function insertSessionIf(db: Db, session: NewSession, guard: SQL) {
  return insertIf(db, sessions, session, guard);
}

/**
 * The SQL twin of a live session: not revoked, before its absolute end, and
 * (for a full session) used within the idle limit.
 */
export function sessionLive(now: number, idleSeconds: number): SQL {
  return sessionLiveAt(now, now - idleSeconds);
}

/** sessionLive with `now` and the idle cutoff (`now - idleSeconds`) as values or placeholders (src/db/prebuilt.ts). */
export function sessionLiveAt(now: number | SQLWrapper, idleCutoff: number | SQLWrapper): SQL {
  return sql`${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now} AND (${sessions.authorized} = 0 OR ${sessions.lastUsedAt} > ${idleCutoff})`;
}

/** The session `sessionId` is live (for a batch's guard). */
export function sessionIsLive(sessionId: string, now: number, idleSeconds: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessionLive(now, idleSeconds)})`;
}

/** True inside a batch once `insertSessionIf` for this id has succeeded. */
export function sessionExists(sessionId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId})`;
}

export function revokeSession(db: Db, sessionId: string, now: number, guard?: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), guard));
}

/** Revokes the sessions whose ids `ids` selects (a subquery: a client's, say), those not revoked yet. */
export function revokeSessionsIn(db: Db, ids: SQLWrapper, now: number) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(inArray(sessions.id, ids), isNull(sessions.revokedAt)));
}

/** Revokes every live session of the user, except `keepSessionId` when given. */
export function revokeUserSessions(db: Db, userId: string, now: number, options: { keepSessionId?: string; guard?: SQL } = {}) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        options.keepSessionId ? ne(sessions.id, options.keepSessionId) : undefined,
        options.guard,
      ),
    );
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
}

/** The password-only token (HS256, internal): good only for the MFA routes of this service. */
export async function issuePasswordOnlyToken(settings: Settings, user: Pick<UserRow, 'id' | 'username'>, session: NewSession): Promise<IssuedToken> {
  const token = await signToken(
    settings,
    { sub: user.id, username: user.username, sid: session.id, authorized: false, amr: ['pwd'] },
    session.createdAt,
    session.expiresAt - session.createdAt,
  );
  return { token, expiresIn: session.expiresAt - session.createdAt };
}
