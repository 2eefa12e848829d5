import { eq } from 'drizzle-orm';
import { hashPassword } from '../crypto/password';
import { randomId } from '../crypto/random';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { passwordProblem } from './common-passwords';
import { foldForComparison } from './identity';

export interface Registered {
  id: string;
  username: string;
}

/** `username` is already normalized and validated by the request schema. */
export async function register(db: Db, username: string, password: string, now: number): Promise<Registered> {
  const problem = await passwordProblem(db, username, password);
  if (problem) throw new ApiError('weak_password', { message: problem });
  const usernameKey = foldForComparison(username);
  // A cheap early answer that spares scrypt; the unique index below is what decides a race.
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1);
  if (existing) throw new ApiError('username_taken');
  const passwordHash = await hashPassword(password);
  const inserted = await db
    .insert(users)
    .values({ id: randomId(), username, usernameKey, passwordHash, createdAt: now })
    .onConflictDoNothing({ target: users.usernameKey })
    .returning({ id: users.id, username: users.username });
  const user = inserted[0];
  if (!user) throw new ApiError('username_taken');
  logEvent('registered', { userId: user.id });
  return user;
}
