/**
 * The code and password budgets of an existing account, on its users row: a
 * reservation is one `UPDATE users ... RETURNING` (one row written, where a
 * `throttles` upsert writes the row and its key's index entry), and a success
 * clears the count inside an UPDATE of the users row the commit makes anyway.
 * The schedule, the reservation before the guess and the hard cap are those
 * of src/core/throttle/throttle.ts (`counterStep`). Usernames that do not exist keep
 * their `pwd:` throttle row: same statement count, same schedule, same
 * forgetting, so nothing about a lock tells whether an account exists.
 */
import { and, eq, ne, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { users, type UserRow } from '../../db/schema';
import { counterStep, grantedReservation, isFactorLocked, readReservation, refusedReservation, reservationStatement, type Guess, type Reservation } from './throttle';

/** The budgets kept on the users row: codes (TOTP and recovery), passwords. */
export type UserBudget = 'otp' | 'pwd';

const COLUMNS = {
  otp: { failures: users.otpFailures, lockedUntil: users.otpLockedUntil, updatedAt: users.otpUpdatedAt },
  pwd: { failures: users.pwdFailures, lockedUntil: users.pwdLockedUntil, updatedAt: users.pwdUpdatedAt },
} as const;

type CounterSet = Partial<Pick<UserRow, 'otpFailures' | 'otpLockedUntil' | 'otpUpdatedAt' | 'pwdFailures' | 'pwdLockedUntil' | 'pwdUpdatedAt'>>;

function counterSet(budget: UserBudget, values: { failures: SQL | number; lockedUntil: SQL | number; updatedAt?: number }): Record<string, SQL | number> {
  const set: Record<string, SQL | number> =
    budget === 'otp' ? { otpFailures: values.failures, otpLockedUntil: values.lockedUntil } : { pwdFailures: values.failures, pwdLockedUntil: values.lockedUntil };
  if (values.updatedAt !== undefined) set[budget === 'otp' ? 'otpUpdatedAt' : 'pwdUpdatedAt'] = values.updatedAt;
  return set;
}

/**
 * The reservation, unexecuted (a route batches it with its reads). With a
 * `guard`, nothing is reserved unless it holds when the statement runs. No row
 * returned: a lock in force, the hard cap, a guard that failed, or no such user.
 */
export function userReservationStatement(db: Db, budget: UserBudget, userId: string, now: number, guard?: SQL, guess: Guess = 'other') {
  const columns = COLUMNS[budget];
  const step = counterStep(budget, columns, now, guess);
  return db
    .update(users)
    .set(counterSet(budget, { failures: step.failures, lockedUntil: step.lockedUntil, updatedAt: now }))
    .where(and(eq(users.id, userId), step.open, guard))
    .returning({ failures: columns.failures, lockedUntil: columns.lockedUntil });
}

/** What the reservation's returned rows mean; a refusal takes one more read (the lock's end) on that rare path. */
export async function readUserReservation(
  db: Db,
  budget: UserBudget,
  userId: string,
  rows: { failures: number; lockedUntil: number }[],
  now: number,
  guess: Guess = 'other',
): Promise<Reservation> {
  const granted = grantedReservation(budget, rows, now);
  if (granted) return granted;
  const columns = COLUMNS[budget];
  const [row] = await db.select({ failures: columns.failures, lockedUntil: columns.lockedUntil }).from(users).where(eq(users.id, userId)).limit(1);
  return refusedReservation(row, now, guess);
}

/** Takes one attempt from an account's budget before the guess is looked at (see throttle.ts `reserveAttempt`). */
export async function reserveUserAttempt(db: Db, budget: UserBudget, userId: string, now: number, guess: Guess = 'other'): Promise<Reservation> {
  const rows = await userReservationStatement(db, budget, userId, now, undefined, guess);
  return readUserReservation(db, budget, userId, rows, now, guess);
}

/**
 * /login's reservation: the account's own budget, or, for a username with no
 * account (or one deleted since it was read), its `pwd:` throttle row.
 */
export async function reservePasswordAttempt(db: Db, user: Pick<UserRow, 'id'> | undefined, usernameKey: string, now: number): Promise<Reservation> {
  if (user) {
    const rows = await userReservationStatement(db, 'pwd', user.id, now);
    if (rows.length > 0) return readUserReservation(db, 'pwd', user.id, rows, now);
    // Refused, or the account is gone: one read tells which and when the lock
    // ends, so a refusal costs a known account the round trips an unknown
    // name's costs (its upsert, then one read): the 429's timing names no account.
    const [row] = await db.select({ failures: COLUMNS.pwd.failures, lockedUntil: COLUMNS.pwd.lockedUntil }).from(users).where(eq(users.id, user.id)).limit(1);
    if (row) return refusedReservation(row, now, 'other');
  }
  const rows = await reservationStatement(db, 'pwd', usernameKey, now);
  return readReservation(db, 'pwd', usernameKey, rows, now);
}

/** The columns a success clears, to spread into an UPDATE of the users row the commit makes anyway. */
export function clearedBudget(budget: UserBudget): CounterSet {
  return counterSet(budget, { failures: 0, lockedUntil: 0 }) as CounterSet;
}

/** A success clears the count, when there is one; unexecuted, for the success's batch. */
export function resetUserBudget(db: Db, budget: UserBudget, userId: string, guard?: SQL) {
  const columns = COLUMNS[budget];
  return db
    .update(users)
    .set(clearedBudget(budget))
    .where(and(eq(users.id, userId), or(ne(columns.failures, 0), ne(columns.lockedUntil, 0)), guard));
}

/** The admin lookup's `locked`: a lock in force on either budget, or a count at the 100-failure cap. */
export function userLocked(user: Pick<UserRow, 'otpFailures' | 'otpLockedUntil' | 'pwdFailures' | 'pwdLockedUntil'>, now: number): boolean {
  return user.otpLockedUntil > now || user.pwdLockedUntil > now || isFactorLocked(user.otpFailures) || isFactorLocked(user.pwdFailures);
}
