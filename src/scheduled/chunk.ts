import { sql, type SQL } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/client';

/**
 * Deletes at most `limit` rows of `table` for which `dead` holds, in one
 * statement, and returns how many went. One statement is one transaction in
 * D1, and `dead` is evaluated inside it, so a row that a request revives
 * meanwhile is not deleted, and two runs at once delete each row once.
 * `rowid` keeps the inner scan in insertion order: the oldest, most likely
 * dead rows come first, so a chunk usually stops reading soon after `limit`.
 */
export async function deleteChunk(db: Db, table: SQLiteTable, dead: SQL, limit: number): Promise<number> {
  const result = await db.run(sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${dead} LIMIT ${limit})`);
  return result.meta.changes;
}
