import { refuseIfHashQueueFull } from '../../crypto/hash-gate';
import { verifyPassword, type ScryptParams } from '../../crypto/password';
import type { Db } from '../../db/client';
import type { UserRow } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { ClientInfo } from '../sessions/store';
import { lockedEventIfSet } from '../events';
import { lockedError, logLockIfSet } from '../throttle/throttle';
import { reserveUserAttempt } from '../throttle/user-throttle';

/**
 * The current password, re-checked for a sensitive change (/password,
 * DELETE /me): the same per-account budget as /login (on the users row),
 * reserved before scrypt runs, so the change routes give an
 * attacker with a stolen session no extra guesses. Wrong: 401
 * invalid_credentials, counted; locked: 429.
 */
export async function checkCurrentPassword(
  db: Db,
  cost: ScryptParams,
  user: UserRow,
  password: string,
  context: { sessionId: string; client: ClientInfo; reason: string },
  now: number,
): Promise<void> {
  refuseIfHashQueueFull(); // 503 before the attempt is spent, not after
  const reservation = await reserveUserAttempt(db, 'pwd', user.id, now);
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user.id, 'password');
  const check = await verifyPassword(password, user.passwordHash, cost);
  if (check.ok) return;
  logEvent('login_failed', { userId: user.id, sessionId: context.sessionId, reason: context.reason });
  logLockIfSet(reservation, user.id, 'pwd');
  const locked = lockedEventIfSet(db, reservation, { userId: user.id, sessionId: context.sessionId, client: context.client, method: 'pwd' }, now);
  if (locked.length > 0) await db.batch([locked[0]!]);
  throw new ApiError('invalid_credentials');
}
