import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions } from '../db/schema';
import { deleteChunk } from './chunk';
import { SESSION_GRACE_SECONDS, SESSION_IDLE_MAX_SECONDS } from '../settings/retention';
import type { CleanupStep } from './step';

/**
 * Sessions dead for longer than the grace: revoked, past their absolute end,
 * or (full sessions) idle past the largest idle limit. Each of the three is
 * final: no statement revives a revoked, expired or idle-dead session (every
 * write to a session is guarded by `sessionLive`), so deleting one changes no
 * answer the API gives; GET /sessions lists only live sessions.
 */
export function deadSessionsChunk(db: Db, now: number, limit: number): Promise<number> {
  const before = now - SESSION_GRACE_SECONDS;
  const dead = sql`${sessions.revokedAt} < ${before} OR ${sessions.expiresAt} < ${before}
    OR (${sessions.authorized} = 1 AND ${sessions.lastUsedAt} < ${before - SESSION_IDLE_MAX_SECONDS})`;
  return deleteChunk(db, sessions, dead, limit);
}

export const sessionsStep: CleanupStep = { name: 'sessions', chunk: deadSessionsChunk };
