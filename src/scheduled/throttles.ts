import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { throttles } from '../db/schema';
import { deleteChunk } from './chunk';
import { THROTTLE_IDLE_SECONDS, THROTTLE_KEEP_FAILURES } from '../settings/retention';
import type { CleanupStep } from './step';

/**
 * Throttle rows that can no longer matter (src/core/throttle/throttle.ts): no lock in
 * force or recently ended, no attempt for THROTTLE_IDLE_SECONDS, and short of
 * the 100-failure cap. That covers `pwd:` rows for usernames that do not
 * exist, which no success ever resets. The predicate is re-checked inside the
 * DELETE, so an attempt that lands meanwhile keeps its row.
 */
export function idleThrottlesChunk(db: Db, now: number, limit: number): Promise<number> {
  const before = now - THROTTLE_IDLE_SECONDS;
  const dead = sql`${throttles.lockedUntil} < ${before} AND ${throttles.updatedAt} < ${before} AND ${throttles.failures} < ${THROTTLE_KEEP_FAILURES}`;
  return deleteChunk(db, throttles, dead, limit);
}

export const throttlesStep: CleanupStep = { name: 'throttles', chunk: idleThrottlesChunk };
