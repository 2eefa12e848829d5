import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { AuthContext } from '../middleware/auth';
import type { Settings } from '../settings';
import { findRecoveryCode, generateRecoveryCodes, markRecoveryCodeUsed, replaceRecoveryCodes, unusedRecoveryCodeExists } from './recovery';
import {
  insertSessionIf,
  issueToken,
  newSession,
  revokeSession,
  revokeUserSessions,
  sessionExists,
  type IssuedToken,
} from './sessions';
import { logLockIfSet, reserveAttempt, resetThrottle, type Reservation } from './throttle';
import { checkCode, livePendingSecret } from './totp-secret';

export interface Verified extends IssuedToken {
  /** Present when this call confirmed an enrollment. */
  recoveryCodes?: string[];
}

type Target = { kind: 'active'; sealed: string } | { kind: 'pending'; sealed: string };

/**
 * Which secret a code is checked against (API.md): a password-only token
 * checks the active secret if there is one, else the pending one; a full token
 * confirms a pending re-enrollment.
 */
function chooseTarget(auth: AuthContext, now: number): Target {
  const { user } = auth;
  const pending = livePendingSecret(user, now);
  if (!auth.authorized) {
    if (user.totpSecret) return { kind: 'active', sealed: user.totpSecret };
    if (pending) return { kind: 'pending', sealed: pending };
    throw new ApiError('mfa_not_enrolled');
  }
  if (pending) return { kind: 'pending', sealed: pending };
  throw new ApiError(user.totpSecret ? 'no_pending_enrollment' : 'mfa_not_enrolled');
}

async function reserveCodeAttempt(db: Db, userId: string, now: number): Promise<Reservation> {
  const reservation = await reserveAttempt(db, 'otp', userId, now);
  if (!reservation.ok) {
    logEvent('throttled', { userId, reason: 'otp', retryAfterSeconds: reservation.retryAfterSeconds });
    throw new ApiError('too_many_requests', { retryAfterSeconds: reservation.retryAfterSeconds });
  }
  return reservation;
}

/**
 * Checks a TOTP code and, in one db.batch() (one transaction), records the
 * matched step, retires the presented session and opens a full one. The
 * first statement inserts the new session only if the step is newer than any
 * accepted before (RFC 6238 §5.2) and the secret is still the one checked;
 * every later statement is conditional on that row, so a replay, or the
 * loser of two simultaneous requests with one code, changes nothing.
 */
export async function verifyCode(db: Db, settings: Settings, auth: AuthContext, code: string, now: number): Promise<Verified> {
  const { user } = auth;
  const target = chooseTarget(auth, now);
  const reservation = await reserveCodeAttempt(db, user.id, now);
  const step = await checkCode(settings, user.id, target.sealed, code, now);
  if (step === null) {
    logEvent('code_failed', { userId: user.id, reason: target.kind });
    logLockIfSet(reservation, user.id, 'otp');
    throw new ApiError('invalid_code');
  }
  const session = newSession(settings, user.id, true, now);
  const won = sessionExists(session.id);
  const recoveryCodes = target.kind === 'pending' ? generateRecoveryCodes() : undefined;
  const guard =
    target.kind === 'active'
      ? sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.totpSecret} = ${target.sealed} AND ${users.totpLastStep} < ${step})`
      : sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.pendingSecret} = ${target.sealed} AND ${users.pendingExpiresAt} > ${now})`;
  const commit =
    target.kind === 'active'
      ? db.update(users).set({ totpLastStep: step }).where(and(eq(users.id, user.id), lt(users.totpLastStep, step), won))
      : // The swap: the confirmed secret becomes the active one, with the
        // enrollment code's step already spent.
        db
          .update(users)
          .set({ totpSecret: target.sealed, totpLastStep: step, pendingSecret: null, pendingExpiresAt: null })
          .where(and(eq(users.id, user.id), won));
  const afterEnrollment = recoveryCodes
    ? [
        ...(await replaceRecoveryCodes(db, settings.recoveryKey, user.id, recoveryCodes, now, won)),
        // A re-enrollment logs out every other device that knew the old factor.
        revokeUserSessions(db, user.id, now, { keepSessionId: session.id, guard: won }),
      ]
    : [];
  const [inserted] = await db.batch([
    insertSessionIf(db, session, guard),
    commit,
    revokeSession(db, auth.sessionId, now, won),
    resetThrottle(db, 'otp', user.id, won),
    ...afterEnrollment,
  ]);
  if (inserted.meta.changes !== 1) {
    logEvent('replay_refused', { userId: user.id, reason: target.kind });
    logLockIfSet(reservation, user.id, 'otp');
    throw new ApiError('invalid_code');
  }
  logEvent(target.kind === 'pending' ? 'enrollment_confirmed' : 'mfa_verified', { userId: user.id, sessionId: session.id });
  const issued = await issueToken(settings, user, session, ['pwd', 'otp']);
  return recoveryCodes ? { ...issued, recoveryCodes } : issued;
}

/** A recovery code in place of a TOTP code: same budget, each code good once. */
export async function verifyRecoveryCode(db: Db, settings: Settings, auth: AuthContext, normalized: string, now: number): Promise<Verified> {
  const { user } = auth;
  if (!user.totpSecret) throw new ApiError('mfa_not_enrolled');
  const reservation = await reserveCodeAttempt(db, user.id, now);
  const codeId = await findRecoveryCode(db, settings.recoveryKey, user.id, normalized);
  if (!codeId) {
    logEvent('code_failed', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    throw new ApiError('invalid_code');
  }
  const session = newSession(settings, user.id, true, now);
  const won = sessionExists(session.id);
  const [inserted] = await db.batch([
    insertSessionIf(db, session, unusedRecoveryCodeExists(codeId)),
    markRecoveryCodeUsed(db, codeId, now, won),
    revokeSession(db, auth.sessionId, now, won),
    resetThrottle(db, 'otp', user.id, won),
  ]);
  if (inserted.meta.changes !== 1) {
    logEvent('replay_refused', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    throw new ApiError('invalid_code');
  }
  logEvent('recovery_code_used', { userId: user.id, sessionId: session.id });
  return issueToken(settings, user, session, ['pwd', 'rec']);
}
