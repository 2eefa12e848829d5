import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions, users } from '../db/schema';
import { authenticate, type AuthContext } from './session-lookup';

/**
 * The presented session is still live when the statement runs: a logout, a
 * revocation or a deletion that landed meanwhile makes the batch a no-op.
 */
export function sessionStillLive(sessionId: string, userId: string, now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.userId} = ${userId}
    AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now})`;
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
