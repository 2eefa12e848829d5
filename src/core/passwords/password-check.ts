import { withHashSlot } from '../../crypto/hash-gate';
import { hashPassword, verifyPassword, type PasswordCheck, type ScryptParams } from '../../crypto/password';
import type { Db } from '../../db/client';
import type { UserRow } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { ClientInfo } from '../sessions/store';
import { recordPasswordFailure } from '../events';
import { lockedError, logLockIfSet, type Reservation } from '../throttle/throttle';
import { reserveUserAttempt } from '../throttle/user-throttle';

export interface PasswordAttempt {
  reservation: Reservation;
  /** null when the reservation was refused (a lock): no guess was looked at. */
  check: PasswordCheck | null;
  /** The hash `hashAfter` asked for after a good check, else null. */
  hash: string | null;
}

/**
 * One password attempt: the reservation from the budget, then the scrypt check
 * (and, after a good one, a hash `hashAfter` asks for: a new password, or the
 * login's upgrade of a weaker stored hash), all inside ONE slot of the
 * isolate's hash gate (src/crypto/hash-gate.ts). The gate's `503 unavailable`
 * thus comes before the attempt is taken from the budget, never after: checked
 * beforehand, a burst of requests all passed while each was still on its D1
 * round trips, took its attempt, then met the full queue, and every such 503
 * counted as a failed password (an owner typing the right one into a flooded
 * isolate was locked out: test/security/hash-queue-spent-attempt.test.ts).
 * The slot is held for the reservation's one D1 statement too; the gate's
 * measured time per slot includes it.
 */
export function passwordAttempt(
  reserve: () => Promise<Reservation>,
  password: string,
  stored: string,
  cost: ScryptParams,
  hashAfter?: (check: PasswordCheck) => string | null,
): Promise<PasswordAttempt> {
  return withHashSlot(async () => {
    const reservation = await reserve();
    if (!reservation.ok) return { reservation, check: null, hash: null };
    const check = await verifyPassword(password, stored, cost, { slot: 'held' });
    const next = check.ok && hashAfter ? hashAfter(check) : null;
    return { reservation, check, hash: next === null ? null : await hashPassword(next, cost, { slot: 'held' }) };
  });
}

/**
 * The current password, re-checked for a sensitive change (/password,
 * DELETE /me): the same per-account budget as /login (on the users row),
 * reserved before scrypt runs, so the change routes give an
 * attacker with a stolen session no extra guesses. Wrong: 401
 * invalid_credentials, counted; locked: 429. With `newPassword`, its hash is
 * made in the same slot and returned (so a 503 never follows a counted attempt).
 */
export async function checkCurrentPassword(
  db: Db,
  cost: ScryptParams,
  user: UserRow,
  password: string,
  context: { sessionId: string; client: ClientInfo; reason: string },
  now: number,
  newPassword?: string,
): Promise<string | null> {
  const attempt = await passwordAttempt(() => reserveUserAttempt(db, 'pwd', user.id, now), password, user.passwordHash, cost, newPassword === undefined ? undefined : () => newPassword);
  const { reservation, check } = attempt;
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user.id, 'password');
  if (check!.ok) return attempt.hash;
  logEvent('login_failed', { userId: user.id, sessionId: context.sessionId, reason: context.reason });
  logLockIfSet(reservation, user.id, 'pwd');
  await recordPasswordFailure(db, reservation, { userId: user.id, sessionId: context.sessionId, client: context.client, method: 'pwd' }, now);
  throw new ApiError('invalid_credentials');
}
