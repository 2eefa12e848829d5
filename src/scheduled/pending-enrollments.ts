import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import type { CleanupStep } from './step';

/**
 * Clears expired pending enrollments (a secret shown by /create-otp and never
 * confirmed): the sealed secret should not outlive its purpose. Every reader
 * already ignores an expired one (`livePendingSecret`, and the confirm's guard
 * `pending_expires_at > now`), so clearing it changes no answer. A user row
 * is never deleted; only the two columns are nulled. The expiry is re-checked
 * in the outer WHERE, so a /create-otp landing meanwhile keeps its new secret.
 */
export async function expiredEnrollmentsChunk(db: Db, now: number, limit: number): Promise<number> {
  const expired = sql`${users.pendingExpiresAt} IS NOT NULL AND ${users.pendingExpiresAt} <= ${now}`;
  const result = await db.run(
    sql`UPDATE ${users} SET ${sql.identifier(users.pendingSecret.name)} = NULL, ${sql.identifier(users.pendingExpiresAt.name)} = NULL
      WHERE ${expired} AND rowid IN (SELECT rowid FROM ${users} WHERE ${expired} LIMIT ${limit})`,
  );
  return result.meta.changes;
}

export const pendingEnrollmentsStep: CleanupStep = { name: 'pending_enrollments', chunk: expiredEnrollmentsChunk };
