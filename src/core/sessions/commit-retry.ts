import { and, eq, isNull } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../../db/client';
import { withReadRetry } from '../../db/read-retry';
import { isTransientD1Error } from '../../db/transient';
import { sessions } from '../../db/schema';

/**
 * What a commit leaves that no other commit can: the row of the session it
 * inserts (its id chosen before the batch), or, for a promotion in place, that
 * row carrying this commit's own `commit_id`.
 */
export interface Landed {
  sessionId: string;
  commitId?: string;
}

async function sessionRowExists(db: Db, landed: Landed): Promise<boolean> {
  const mark = landed.commitId === undefined ? undefined : eq(sessions.commitId, landed.commitId);
  // Landed and still not revoked: a logout, password change or reset that came
  // after the lost answer must not be answered with fresh tokens by the retry.
  const rows = await withReadRetry(() =>
    db.select({ id: sessions.id }).from(sessions).where(and(eq(sessions.id, landed.sessionId), mark, isNull(sessions.revokedAt))).limit(1),
  );
  return rows.length === 1;
}

/**
 * Runs a commit batch whose first statement is guarded, and says whether that
 * statement changed its row (the commit won). With `landed` (the session the
 * first statement inserts or promotes, and its marks, chosen before the batch) the commit
 * is idempotent by construction and survives one transient D1 error: a batch
 * is one transaction, so the marked session row exists exactly when the commit
 * landed, even if its answer was lost. Absent, the batch runs once more; its
 * guard makes a late first attempt and the retry exclusive, and a second
 * look catches the first attempt landing in between. Without an id (any
 * other commit) a transient error is rethrown: a 503 and nothing retried.
 */
export async function commitGuardedBatch(
  db: Db,
  statements: readonly [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]],
  landed: Landed | null,
): Promise<boolean> {
  return (await commitGuardedBatchResults(db, statements, landed)).won;
}

/**
 * commitGuardedBatch, with the batch's results when this request's answer
 * carried them (null when a retry learned from the session row that the
 * first attempt had landed: its results were lost with its answer).
 */
export async function commitGuardedBatchResults(
  db: Db,
  statements: readonly [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]],
  landed: Landed | null,
): Promise<{ won: boolean; results: unknown[] | null }> {
  const run = async () => {
    const results = (await db.batch(statements)) as unknown as [D1Result, ...unknown[]];
    return { won: results[0].meta.changes === 1, results: results as unknown[] };
  };
  try {
    return await run();
  } catch (error) {
    if (landed === null || !isTransientD1Error(error)) throw error;
    if (await sessionRowExists(db, landed)) return { won: true, results: null };
    const again = await run();
    return again.won ? again : { won: await sessionRowExists(db, landed), results: null };
  }
}
