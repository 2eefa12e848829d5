import { and, eq, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { withReadRetry } from '../db/read-retry';
import type { Db } from '../db/client';
import { insertIf } from '../db/guarded-insert';
import { signingKeys, type SigningKeyRow } from '../db/schema';
import { generateSigningKey, sealPrivateKey, SIGNING_ALG } from './signing-key-crypto';
import { RETIRED_PUBLISH_SECONDS, type KeyWindow, type SuccessorPlan } from './signing-key-schedule';

/**
 * D1 statements for signing keys. D1 has no interactive transactions, so each
 * change is one guarded statement (or one db.batch() whose first statement
 * carries the guard): the guard is evaluated by the statement that writes, so
 * of any number of concurrent callers exactly one can pass it.
 */

/** Every key not revoked. The table holds a handful of rows (one per 30 days, pruned). */
export function loadSigningKeyRows(db: Db): Promise<SigningKeyRow[]> {
  return withReadRetry(() => db.select().from(signingKeys).where(isNull(signingKeys.revokedAt)).all());
}

/** A key not revoked signs at `now`. */
function someKeySignsAt(now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${signingKeys} WHERE ${signingKeys.revokedAt} IS NULL AND ${signingKeys.signFrom} <= ${now} AND ${signingKeys.signUntil} > ${now})`;
}

/** A key not revoked has yet to start signing. */
function someKeyPendingAfter(now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${signingKeys} WHERE ${signingKeys.revokedAt} IS NULL AND ${signingKeys.signFrom} > ${now})`;
}

async function newKeyRow(wrapKey: CryptoKey, now: number, window: KeyWindow): Promise<SigningKeyRow> {
  const key = await generateSigningKey();
  const sealedPrivateKey = await sealPrivateKey(wrapKey, key.kid, SIGNING_ALG, key.pkcs8);
  key.pkcs8.fill(0);
  return { kid: key.kid, alg: SIGNING_ALG, publicX: key.x, sealedPrivateKey, createdAt: now, revokedAt: null, rsaKid: null, rsaN: null, sealedRsaPrivateKey: null, ...window };
}

/** INSERT ... SELECT <row> WHERE <guard> (db/guarded-insert.ts): the new key has no RSA partner yet (it comes later) and is not revoked. */
function insertRowIf(db: Db, row: SigningKeyRow, guard: SQL) {
  return insertIf(db, signingKeys, { ...row, revokedAt: null, rsaKid: null, rsaN: null, sealedRsaPrivateKey: null }, guard);
}

/**
 * Creates a key that signs from `now`, only if no key signs at `now` when the
 * statement runs. Two first requests of a new deployment (or two requests
 * after the current key was revoked) race here; one row is written and the
 * loser re-reads and signs with the winner's key. Returns whether this call wrote.
 */
export async function insertImmediateKeyIf(db: Db, wrapKey: CryptoKey, now: number, window: KeyWindow): Promise<boolean> {
  const row = await newKeyRow(wrapKey, now, window);
  const result = await insertRowIf(db, row, sql`NOT ${someKeySignsAt(now)}`).run();
  return result.meta.changes === 1;
}

/**
 * Publishes the planned successor and, in the same batch, moves the signer's
 * sign_until (and so its published_until) to meet it. The insert is guarded
 * by "no pending key yet" and by a compare-and-swap on the signer's
 * sign_until, so concurrent cron runs publish one successor; the update runs
 * only where that insert happened. Returns the new kid, or null if another run won.
 */
export async function insertSuccessorIf(db: Db, wrapKey: CryptoKey, now: number, plan: SuccessorPlan): Promise<string | null> {
  const row = await newKeyRow(wrapKey, now, plan.window);
  const predecessorUnchanged = sql`EXISTS (SELECT 1 FROM ${signingKeys} WHERE ${signingKeys.kid} = ${plan.predecessorKid} AND ${signingKeys.revokedAt} IS NULL AND ${signingKeys.signUntil} = ${plan.predecessorSignUntil})`;
  const [inserted] = await db.batch([
    insertRowIf(db, row, sql`NOT ${someKeyPendingAfter(now)} AND ${predecessorUnchanged}`),
    db
      .update(signingKeys)
      .set({ signUntil: row.signFrom, publishedUntil: row.signFrom + RETIRED_PUBLISH_SECONDS })
      .where(
        and(
          eq(signingKeys.kid, plan.predecessorKid),
          eq(signingKeys.signUntil, plan.predecessorSignUntil),
          lt(signingKeys.signUntil, row.signFrom),
          sql`EXISTS (SELECT 1 FROM ${signingKeys} WHERE ${signingKeys.kid} = ${row.kid})`,
        ),
      ),
  ]);
  return inserted.meta.changes === 1 ? row.kid : null;
}

/** Deletes keys whose publication ended long ago (revoked ones included); returns how many. */
export async function pruneSigningKeys(db: Db, before: number): Promise<number> {
  const result = await db.delete(signingKeys).where(lt(signingKeys.publishedUntil, before)).run();
  return result.meta.changes;
}
