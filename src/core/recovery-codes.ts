import { and, eq, isNull, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { RECOVERY_CODE_CHARS, RECOVERY_CODE_COUNT } from '../settings/tunables';
import { base32Encode } from '../crypto/base32';
import { base64Encode } from '../crypto/base64';
import { timingSafeEqualText } from '../crypto/compare';
import { randomBytes, randomId } from '../crypto/random';
import type { Db } from '../db/client';
import { recoveryCodes } from '../db/schema';

const encoder = new TextEncoder();

/** Ten codes like `K7QMZ-3RTPA`: 10 base32 characters carry 50 bits each. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 7 random bytes give 11+ base32 characters; the first 10 are uniform.
    const chars = base32Encode(randomBytes(7)).slice(0, RECOVERY_CODE_CHARS);
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/**
 * HMAC-SHA-256 under a server key, with the user id mixed in: a stolen table
 * cannot be brute-forced offline without the key, and one user's codes say
 * nothing about another's. `normalized` is the code without dash or blanks.
 */
export async function hashRecoveryCode(key: CryptoKey, userId: string, normalized: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${userId}:${normalized}`));
  return base64Encode(new Uint8Array(mac));
}

function normalize(code: string): string {
  return code.replace('-', '');
}

/** Statements that replace the user's whole set; put them in one batch. */
export async function replaceRecoveryCodes(db: Db, key: CryptoKey, userId: string, codes: string[], now: number, guard?: SQL) {
  const hashes = await Promise.all(codes.map((code) => hashRecoveryCode(key, userId, normalize(code))));
  const remove = db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), guard));
  const rows = hashes.map((hash) => sql`(${randomId()}, ${userId}, ${hash}, ${now})`);
  // INSERT ... SELECT so that the whole set is conditional on the same guard
  // (drizzle lists every column, in order: id, user_id, code_hash, created_at, used_at).
  const insert = db
    .insert(recoveryCodes)
    .select(
      sql`SELECT column1, column2, column3, column4, NULL FROM (VALUES ${sql.join(rows, sql`, `)}) WHERE ${guard ?? sql`1`}`,
    );
  return [remove, insert] as const;
}

/**
 * Finds the unused code that matches, comparing against each stored hash in
 * constant time (at most ten). Returns the row id, or null.
 */
export async function findRecoveryCode(db: Db, key: CryptoKey, userId: string, normalized: string): Promise<string | null> {
  const candidate = await hashRecoveryCode(key, userId, normalized);
  const rows = await db
    .select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  let found: string | null = null;
  for (const row of rows) if (timingSafeEqualText(row.codeHash, candidate) && found === null) found = row.id;
  return found;
}

/** The number of the user's unused codes, as a column expression (for a read that needs it). */
export function unusedRecoveryCodeCount(userId: SQL.Aliased | AnyColumn | string) {
  return sql<number>`(SELECT count(*) FROM ${recoveryCodes} WHERE ${recoveryCodes.userId} = ${userId} AND ${recoveryCodes.usedAt} IS NULL)`;
}

export function unusedRecoveryCodeExists(codeId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${recoveryCodes} WHERE ${recoveryCodes.id} = ${codeId} AND ${recoveryCodes.usedAt} IS NULL)`;
}

export function markRecoveryCodeUsed(db: Db, codeId: string, now: number, guard: SQL) {
  return db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.id, codeId), isNull(recoveryCodes.usedAt), guard));
}
