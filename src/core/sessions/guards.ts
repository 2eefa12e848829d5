import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sessions, users } from '../../db/schema';
import { authenticate, type AuthContext } from './lookup';

/**
 * The presented session is still live when the statement runs: a logout, a
 * revocation or a deletion that landed meanwhile makes the batch a no-op.
 */
export function sessionStillLive(sessionId: string, userId: string, now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.userId} = ${userId}
    AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now})`;
}

/**
 * The caller's own session is still live and still what its token says it is
 * (password-only or full) when the statement runs. A password-only token read
 * before /otp-verify promoted its session in place must not then write to the
 * full session it became (a late /logout ending it, a late /create-otp binding
 * a secret to it): its write finds `authorized` changed and does nothing.
 */
export function presentedSessionLive(auth: Pick<AuthContext, 'sessionId' | 'authorized'> & { user: { id: string } }, now: number): SQL {
  return sql`(${sessionStillLive(auth.sessionId, auth.user.id, now)} AND EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${auth.sessionId} AND ${sessions.authorized} = ${auth.authorized ? 1 : 0}))`;
}

/**
 * True once this request's password write has landed: the new hash has a
 * fresh random salt, so no other request can have written the same string.
 */
export function passwordHashIs(userId: string, passwordHash: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.passwordHash} = ${passwordHash})`;
}

/** True once the user row is gone (account deletion's marker). */
export function userGone(userId: string): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId})`;
}

/**
 * After a guarded write changed nothing: 401 unauthorized if the session died
 * meanwhile (one read, on this rare path only); otherwise returns, and the
 * caller names the other reason.
 */
export async function refuseIfSessionEnded(db: Db, auth: AuthContext, now: number, idleSeconds: number): Promise<void> {
  await authenticate(db, auth.claims, 'any', now, idleSeconds);
}
