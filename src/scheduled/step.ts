import type { Db } from '../db/client';

/**
 * One table's cleanup. `chunk` removes (or clears) at most `limit` rows that
 * can no longer matter, in one statement, and returns how many it changed; it
 * must be idempotent and safe beside requests and another run, which a single
 * guarded statement is. A new table adds one step to CLEANUP_STEPS.
 */
export interface CleanupStep {
  /** For the log: the table, or what is cleared. */
  name: string;
  chunk(db: Db, now: number, limit: number): Promise<number>;
}
