import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions } from '../db/schema';
import { authenticate, type AuthContext } from './session-lookup';

/**
 * True when the statement runs while the presented session is live. The guard
 * of a writer's first statement: the middleware read the session earlier, and
 * a logout or an MFA change that landed meanwhile must not be overtaken.
 * (Local stand-in for sessions.ts's coming `sessionIsLive(sessionId, now,
 * idleSeconds)`, which also applies the idle limit.)
 */
export function presentedSessionLive(sessionId: string, now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now})`;
}

/**
 * After a guarded write changed nothing: 401 unauthorized if the session died
 * meanwhile (one read, on this rare path only); otherwise returns, and the
 * caller names the other reason.
 */
export async function refuseIfSessionEnded(db: Db, auth: AuthContext, now: number): Promise<void> {
  await authenticate(db, auth.claims, 'any', now);
}
