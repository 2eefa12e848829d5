import { eq } from 'drizzle-orm';
import { hashPassword, type ScryptParams } from '../crypto/password';
import type { Db } from '../db/client';
import { shardedId } from '../db/shard-ids';
import { users } from '../db/schema';
import { ApiError } from './errors';
import { logEvent } from './log';
import { passwordProblem } from './passwords/common-passwords';
import { foldForComparison } from './identity';

export interface Registered {
  id: string;
  username: string;
}

/**
 * `username` is already normalized and validated by the request schema. `db`
 * is the shard its key hashes to, and `shard` that shard's number, which the
 * new id carries (src/db/shards.ts).
 */
export async function register(db: Db, cost: ScryptParams, username: string, password: string, now: number, shard = 0): Promise<Registered> {
  const problem = await passwordProblem(db, username, password);
  if (problem) throw new ApiError('weak_password', { message: problem });
  const usernameKey = foldForComparison(username);
  // A cheap early answer that spares scrypt; the unique index below is what decides a race.
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1);
  if (existing) throw new ApiError('username_taken');
  const passwordHash = await hashPassword(password, cost);
  const inserted = await db
    .insert(users)
    .values({ id: shardedId(shard), username, usernameKey, passwordHash, createdAt: now })
    .onConflictDoNothing({ target: users.usernameKey })
    .returning({ id: users.id, username: users.username });
  const user = inserted[0];
  if (!user) throw new ApiError('username_taken');
  logEvent('registered', { userId: user.id });
  return user;
}
