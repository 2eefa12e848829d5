import { and, eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { THROTTLE_IDLE_SECONDS, THROTTLE_KEEP_FAILURES } from '../../settings/retention';
import {
  ADMIN_FAILURES_PER_LOCK,
  LOCK_BASE_SECONDS,
  LOCK_MAX_SECONDS,
  OTP_FACTOR_LOCK_FAILURES,
  OTP_FAILURES_PER_LOCK,
  PASSWORD_FAILURES_PER_LOCK,
  SIGNIN_CREDENTIAL_FAILURES_PER_LOCK,
  SIGNIN_NETWORK_FAILURES_PER_LOCK,
} from '../../settings/tunables';
import type { Db } from '../../db/client';
import { insertIf } from '../../db/guarded-insert';
import type { Bound } from '../../db/prebuilt';
import { throttles, users } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';

/**
 * Which budget: passwords per username, codes (TOTP and recovery) and passkeys per user id,
 * admin tokens per client network, passwordless sign-in per credential id (`pkcred`) and per
 * client network (`pkip`). The last two live on the primary and name no account: a flood of
 * them never touches anyone's password or code budget.
 */
export type ThrottleKind = 'pwd' | 'otp' | 'webauthn' | 'admin' | 'pkcred' | 'pkip';

const FAILURES_PER_LOCK: Record<ThrottleKind, number> = {
  pwd: PASSWORD_FAILURES_PER_LOCK,
  otp: OTP_FAILURES_PER_LOCK,
  admin: ADMIN_FAILURES_PER_LOCK,
  // Passkey assertions (`webauthn:<user id>`): a budget of their own, never the code's.
  webauthn: OTP_FAILURES_PER_LOCK,
  pkcred: SIGNIN_CREDENTIAL_FAILURES_PER_LOCK,
  pkip: SIGNIN_NETWORK_FAILURES_PER_LOCK,
};

export function throttleKey(kind: ThrottleKind, subject: string): string {
  return `${kind}:${subject}`;
}

/** The key of a budget, as a value or (for a prebuilt statement's subject placeholder) as SQL that prefixes the kind. */
function keyOf(kind: ThrottleKind, subject: Bound<string>): string | SQL {
  return typeof subject === 'string' ? throttleKey(kind, subject) : sql`${`${kind}:`} || ${subject}`;
}

/**
 * What is guessed: a TOTP code is subject to the hard cap (NIST SP 800-63B-4
 * §3.2.2); a recovery code or a password only to the lock schedule.
 */
export type Guess = 'totp' | 'other';

/**
 * `lockSeconds`: the lock this attempt sets if it turns out wrong (it reached a
 * multiple of the threshold), else 0. Refused: a lock in force, or, for a TOTP
 * code, the factor lock (`factorLocked`, then `retryAfterSeconds` is 0).
 */
export type Reservation = { ok: true; lockSeconds: number } | { ok: false; retryAfterSeconds: number; factorLocked?: true };

/**
 * Takes one attempt from the budget *before* the guess is evaluated, in one
 * guarded upsert. Every attempt counts as a failure until a success resets the
 * row, so N simultaneous guesses cannot all slip in ahead of the counter: each
 * must win its own increment, and the one that reaches a multiple of the
 * threshold sets the lock. The lock is 30 s at the first threshold and doubles
 * with each further one, up to an hour. While locked, the WHERE clause makes
 * the statement a no-op: such attempts neither count nor extend the lock.
 *
 * Counters live in D1 because each request may land in another isolate; no
 * read-then-write, because D1 has no interactive transactions.
 */
export async function reserveAttempt(db: Db, kind: ThrottleKind, subject: string, now: number, guess: Guess = 'other'): Promise<Reservation> {
  const rows = await reservationStatement(db, kind, subject, now, undefined, guess);
  return readReservation(db, kind, subject, rows, now, guess);
}

/**
 * The reservation upsert, unexecuted, so a route can batch it with its read.
 * With a `guard`, nothing is reserved (or counted) unless the guard holds when
 * the statement runs.
 */
export function reservationStatement(db: Db, kind: ThrottleKind, subject: Bound<string>, now: Bound<number>, guard?: SQL, guess: Guess = 'other') {
  const key = keyOf(kind, subject);
  const step = counterStep(kind, throttles, now, guess);
  const firstLock = FAILURES_PER_LOCK[kind] === 1 ? sql`${now} + ${sql.raw(String(LOCK_BASE_SECONDS))}` : 0;
  // INSERT ... SELECT ... WHERE so the guard covers the first attempt too.
  return insertIf(db, throttles, { key: sql`${key}`, failures: 1, lockedUntil: sql`${firstLock}`, updatedAt: sql`${now}` }, guard ?? sql`1`)
    .onConflictDoUpdate({
      target: throttles.key,
      set: { failures: step.failures, lockedUntil: step.lockedUntil, updatedAt: sql`${now}` },
      // A TOTP code after the hard cap is not reserved either: refused before
      // it is looked at, and not counted.
      setWhere: step.open,
    })
    .returning({ failures: throttles.failures, lockedUntil: throttles.lockedUntil });
}

/** The three columns of one budget, in the `throttles` table or on the users row. */
export interface CounterColumns {
  failures: AnyColumn;
  lockedUntil: AnyColumn;
  updatedAt: AnyColumn;
}

/**
 * One attempt taken from a budget, as SQL over its columns: the new
 * `failures` and `lockedUntil`, and `open`, the condition under which the
 * attempt may be taken at all (no lock in force; for a TOTP code, short of the
 * hard cap). A counter idle as long as the cleanup's THROTTLE_IDLE_SECONDS
 * counts as zero, so a budget forgets at the same moment wherever it is
 * stored, whether or not the cron has pruned its row yet: a username's lock
 * and its timing say nothing about whether the account exists.
 */
export function counterStep(kind: ThrottleKind, columns: CounterColumns, now: Bound<number>, guess: Guess) {
  const perLock = sql.raw(String(FAILURES_PER_LOCK[kind]));
  const idleBefore = sql`(${now} - ${sql.raw(String(THROTTLE_IDLE_SECONDS))})`;
  // The cleanup's own predicate (src/scheduled/throttles.ts), read as "counts as zero".
  const current = sql`(CASE WHEN ${columns.lockedUntil} < ${idleBefore} AND ${columns.updatedAt} < ${idleBefore} AND ${columns.failures} < ${sql.raw(String(THROTTLE_KEEP_FAILURES))} THEN 0 ELSE ${columns.failures} END)`;
  const next = sql`${current} + 1`;
  // 30 << (rounds - 1), capped; the inner min keeps the shift from overflowing.
  const lockSeconds = sql`min(${sql.raw(String(LOCK_BASE_SECONDS))} << min((${next}) / ${perLock} - 1, 20), ${sql.raw(String(LOCK_MAX_SECONDS))})`;
  return {
    failures: next,
    lockedUntil: sql`CASE WHEN (${next}) % ${perLock} = 0 THEN ${now} + ${lockSeconds} ELSE ${columns.lockedUntil} END`,
    open:
      guess === 'totp'
        ? sql`${columns.lockedUntil} <= ${now} AND ${current} < ${sql.raw(String(OTP_FACTOR_LOCK_FAILURES))}`
        : sql`${columns.lockedUntil} <= ${now}`,
  };
}

/**
 * What the upsert's returned rows mean: a reservation, or (no row) a lock in
 * force, whose remaining seconds take one more read on this rare path.
 */
export async function readReservation(
  db: Db,
  kind: ThrottleKind,
  subject: string,
  rows: { failures: number; lockedUntil: number }[],
  now: number,
  guess: Guess = 'other',
): Promise<Reservation> {
  const granted = grantedReservation(kind, rows, now);
  if (granted) return granted;
  const [row] = await db
    .select({ failures: throttles.failures, lockedUntil: throttles.lockedUntil })
    .from(throttles)
    .where(eq(throttles.key, throttleKey(kind, subject)));
  return refusedReservation(row, now, guess);
}

type CounterRow = { failures: number; lockedUntil: number };

/** A counted attempt, from the row a guarded counter statement returned; null when it returned none (refused). */
export function grantedReservation(kind: ThrottleKind, rows: CounterRow[], now: number): Reservation | null {
  const [reserved] = rows;
  if (!reserved) return null;
  const setsLock = reserved.failures % FAILURES_PER_LOCK[kind] === 0;
  return { ok: true, lockSeconds: setsLock ? reserved.lockedUntil - now : 0 };
}

/** A refusal, from the counter as read after the statement changed nothing: a lock in force, or the TOTP factor's lock. */
export function refusedReservation(row: CounterRow | undefined, now: number, guess: Guess): Reservation {
  if (guess === 'totp' && row && isFactorLocked(row.failures)) return { ok: false, retryAfterSeconds: 0, factorLocked: true };
  return { ok: false, retryAfterSeconds: Math.max(1, (row?.lockedUntil ?? now) - now) };
}

/** NIST SP 800-63B-4 §3.2.2: 100 consecutive failures lock the TOTP factor (recovery codes stay usable). */
export function isFactorLocked(failures: number): boolean {
  return failures >= OTP_FACTOR_LOCK_FAILURES;
}

/** The answer to a refused reservation: 403 factor_locked, or the 429 of a lock in force. */
export function refusal(reservation: { retryAfterSeconds: number; factorLocked?: true }, userId: string | undefined, reason: 'otp' | 'password'): ApiError {
  if (reservation.factorLocked) {
    logEvent('throttled', { userId, reason: 'factor_locked' });
    return new ApiError('factor_locked');
  }
  return lockedError(reservation.retryAfterSeconds, userId, reason);
}

/**
 * Lifts the factor lock (and any lock in force) on a user's codes: the admin
 * unlock. A successful recovery code does the same in its commit (user-throttle.ts).
 */
export async function clearFactorLock(db: Db, userId: string): Promise<void> {
  await db.update(users).set({ otpFailures: 0, otpLockedUntil: 0 }).where(eq(users.id, userId));
}

/** After a failed guess: logs the lock its reservation set, if any (a security event with the user and budget). */
export function logLockIfSet(reservation: Reservation, userId: string | undefined, reason: ThrottleKind): void {
  if (reservation.ok && reservation.lockSeconds > 0) logEvent('locked', { userId, reason, retryAfterSeconds: reservation.lockSeconds });
}

/** The 429 for an attempt refused during a lock, logged as a security event. */
export function lockedError(retryAfterSeconds: number, userId: string | undefined, reason: 'otp' | 'password' | 'webauthn' | 'pkcred' | 'pkip'): ApiError {
  logEvent('throttled', { userId, reason, retryAfterSeconds });
  return new ApiError('too_many_requests', { retryAfterSeconds });
}

/** A success clears the count; returned unexecuted so it can join the success's batch. */
export function resetThrottle(db: Db, kind: ThrottleKind, subject: Bound<string>, guard?: SQL) {
  return db.delete(throttles).where(and(eq(throttles.key, keyOf(kind, subject)), guard));
}
