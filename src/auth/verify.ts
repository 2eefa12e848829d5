import { and, eq, gt, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions, users } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { toAuthContext, type AuthContext } from './session-lookup';
import type { TokenClaims } from '../tokens/jwt';
import type { Settings } from '../settings';
import { findRecoveryCode, generateRecoveryCodes, unusedRecoveryCodeCount, markRecoveryCodeUsed, replaceRecoveryCodes, unusedRecoveryCodeExists } from './recovery';
import {
  insertSessionIf,
  issueToken,
  newSession,
  revokeSession,
  revokeUserSessions,
  sessionExists,
  type IssuedToken,
} from './sessions';
import { logLockIfSet, readReservation, refusal, reservationStatement, resetThrottle, type Reservation } from './throttle';
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
  const pending = livePendingSecret(user, now, auth.sessionId);
  if (!auth.authorized) {
    if (user.totpSecret) return { kind: 'active', sealed: user.totpSecret };
    if (pending) return { kind: 'pending', sealed: pending };
    throw new ApiError('mfa_not_enrolled');
  }
  if (pending) return { kind: 'pending', sealed: pending };
  throw new ApiError(user.totpSecret ? 'no_pending_enrollment' : 'mfa_not_enrolled');
}

/**
 * The SQL twin of chooseTarget (and, for recovery codes, of "MFA is active"):
 * true when the presented session is live and has something to check a code
 * against. The reservation is guarded by it, so a dead session or a request
 * answered 409/404 never spends the account's budget.
 */
function liveSessionWithTarget(claims: TokenClaims, now: number, proof: 'code' | 'recoveryCode'): SQL {
  const pendingLive = sql`(${users.pendingSecret} IS NOT NULL AND ${users.pendingExpiresAt} > ${now} AND ${users.pendingSessionId} = ${claims.sid})`;
  const target =
    proof === 'recoveryCode'
      ? sql`${users.totpSecret} IS NOT NULL`
      : sql`((${sessions.authorized} = 0 AND (${users.totpSecret} IS NOT NULL OR ${pendingLive})) OR (${sessions.authorized} = 1 AND ${pendingLive}))`;
  return sql`EXISTS (SELECT 1 FROM ${sessions} JOIN ${users} ON ${users.id} = ${sessions.userId}
    WHERE ${sessions.id} = ${claims.sid} AND ${sessions.userId} = ${claims.sub} AND ${sessions.revokedAt} IS NULL
    AND ${sessions.expiresAt} > ${now} AND ${sessions.authorized} = ${claims.authorized ? 1 : 0} AND ${target})`;
}

/**
 * /otp-verify's first round trip: the session read and the attempt's
 * reservation in one db.batch(), the reservation guarded by the same session
 * and target. One D1 round trip fewer than reading, then reserving; the
 * reservation still comes before the guess is looked at.
 */
async function authenticateAndReserve(
  db: Db,
  claims: TokenClaims,
  now: number,
  proof: 'code' | 'recoveryCode',
): Promise<{ auth: AuthContext; target: Target | null; reservation: Reservation }> {
  // Two single-table reads rather than the middleware's JOIN: in a batch,
  // drizzle maps D1's rows by column name, and a JOIN's duplicate names (id,
  // created_at) would collide.
  const [reserved, sessionRows, userRows] = await db.batch([
    reservationStatement(db, 'otp', claims.sub, now, liveSessionWithTarget(claims, now, proof), proof === 'code' ? 'totp' : 'other'),
    db
      .select()
      .from(sessions)
      .where(and(eq(sessions.id, claims.sid), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
      .limit(1),
    db
      .select({ user: users, recoveryCodesRemaining: unusedRecoveryCodeCount(users.id) })
      .from(users)
      .where(eq(users.id, claims.sub))
      .limit(1),
  ]);
  const [session] = sessionRows;
  const [row] = userRows;
  const auth = toAuthContext(session && row ? { session, ...row } : undefined, claims, 'any');
  let target: Target | null = null;
  if (proof === 'code') target = chooseTarget(auth, now);
  else if (!auth.user.totpSecret) throw new ApiError('mfa_not_enrolled');
  const reservation = await readReservation(db, 'otp', auth.user.id, reserved, now, proof === 'code' ? 'totp' : 'other');
  if (!reservation.ok) throw refusal(reservation, auth.user.id, 'otp');
  return { auth, target, reservation };
}

/**
 * The presented session is still live at commit time: a logout that landed
 * meanwhile, or a concurrent success with another valid code (two steps of the
 * window, or two recovery codes), already retired it, and one password-only
 * session must never turn into two full ones.
 */
function presentedSessionLive(sessionId: string, now: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now})`;
}

/** /otp-verify with a bearer token whose claims are verified but whose session is not yet read. */
export async function verifySecondFactor(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  proof: { code: string } | { recoveryCode: string },
  now: number,
): Promise<Verified> {
  if ('code' in proof) {
    const { auth, target, reservation } = await authenticateAndReserve(db, claims, now, 'code');
    return verifyCode(db, settings, auth, target!, reservation, proof.code, now);
  }
  const { auth, reservation } = await authenticateAndReserve(db, claims, now, 'recoveryCode');
  return verifyRecoveryCode(db, settings, auth, reservation, proof.recoveryCode, now);
}

/**
 * Checks a TOTP code and, in one db.batch() (one transaction), records the
 * matched step, retires the presented session and opens a full one. The
 * first statement inserts the new session only if the step is newer than any
 * accepted before (RFC 6238 §5.2) and the secret is still the one checked;
 * every later statement is conditional on that row, so a replay, or the
 * loser of two simultaneous requests with one code, changes nothing.
 */
async function verifyCode(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  target: Target,
  reservation: Reservation,
  code: string,
  now: number,
): Promise<Verified> {
  const { user } = auth;
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
      : sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.pendingSecret} = ${target.sealed} AND ${users.pendingExpiresAt} > ${now} AND ${users.pendingSessionId} = ${auth.sessionId})`;
  const commit =
    target.kind === 'active'
      ? db.update(users).set({ totpLastStep: step }).where(and(eq(users.id, user.id), lt(users.totpLastStep, step), won))
      : // The swap: the confirmed secret becomes the active one, with the
        // enrollment code's step already spent.
        db
          .update(users)
          .set({ totpSecret: target.sealed, totpLastStep: step, pendingSecret: null, pendingExpiresAt: null, pendingSessionId: null })
          .where(and(eq(users.id, user.id), won));
  const afterEnrollment = recoveryCodes
    ? [
        ...(await replaceRecoveryCodes(db, settings.recoveryKey, user.id, recoveryCodes, now, won)),
        // A re-enrollment logs out every other device that knew the old factor.
        revokeUserSessions(db, user.id, now, { keepSessionId: session.id, guard: won }),
      ]
    : [];
  const [inserted] = await db.batch([
    insertSessionIf(db, session, and(guard, presentedSessionLive(auth.sessionId, now))!),
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
async function verifyRecoveryCode(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  reservation: Reservation,
  normalized: string,
  now: number,
): Promise<Verified> {
  const { user } = auth;
  const codeId = await findRecoveryCode(db, settings.recoveryKey, user.id, normalized);
  if (!codeId) {
    logEvent('code_failed', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    throw new ApiError('invalid_code');
  }
  const session = newSession(settings, user.id, true, now);
  const won = sessionExists(session.id);
  const [inserted] = await db.batch([
    insertSessionIf(db, session, and(unusedRecoveryCodeExists(codeId), presentedSessionLive(auth.sessionId, now))!),
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
