import { and, eq, isNotNull, lt, not, sql } from 'drizzle-orm';
import { passwordAttempt } from '../../core/passwords/password-check';
import type { Db } from '../../db/client';
import { recoveryCodes, users } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { refuseIfSessionEnded, presentedSessionLive } from '../../core/sessions/guards';
import type { AuthContext } from '../../core/sessions/lookup';
import type { Settings } from '../../settings';
import { hasSecondFactor, passkeyCount, passkeyExists, secondFactorActive } from '../../core/factors';
import { generateRecoveryCodes, replaceRecoveryCodes } from '../../core/recovery-codes';
import { revokeUserSessions } from '../../core/sessions/store';
import { lockedError, logLockIfSet, refusal } from '../../core/throttle/throttle';
import { reserveUserAttempt, resetUserBudget } from '../../core/throttle/user-throttle';
import { checkCode } from '../../core/second-factor/totp-secret';
import { recordCodeFailure, recordEvent, recordPasswordFailure } from '../../core/events';
import type { ClientInfo } from '../../core/sessions/store';

/** A new set of ten; the old set stops working in the same transaction. */
export async function regenerateRecoveryCodes(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  now: number,
  client: ClientInfo = { userAgent: null, ip: null },
): Promise<string[]> {
  if (!hasSecondFactor(auth.user, auth.passkeyCount)) throw new ApiError('mfa_not_enrolled');
  const codes = generateRecoveryCodes();
  // Both statements carry the guard: the presented session is still live and
  // MFA still on when the batch commits, so a logout or a disable landing
  // meanwhile is not overtaken (the first deletes nothing, the second inserts nothing).
  const guard = sql`(${presentedSessionLive(auth, now)} AND ${secondFactorActive(auth.user.id)})`;
  const [, inserted] = await db.batch([
    ...(await replaceRecoveryCodes(db, settings.recoveryKey, auth.user.id, codes, now, guard)),
    recordEvent(db, 'recovery_codes_regenerated', { userId: auth.user.id, sessionId: auth.sessionId, client, method: 'rec' }, now, guard),
  ]);
  if (inserted.meta.changes !== codes.length) {
    await refuseIfSessionEnded(db, auth, now, settings.sessionIdleSeconds);
    throw new ApiError('mfa_not_enrolled');
  }
  logEvent('recovery_codes_regenerated', { userId: auth.user.id });
  return codes;
}

/**
 * Turns TOTP off after proof of the current code or the password: secret and
 * pending secret go, every session is revoked, and, with no passkey left, the
 * next login asks to enroll again. One batch, so it happens whole or not at all.
 *
 * The recovery codes go only with the last factor. While a passkey remains they
 * are its fallback (a lost or broken device), as good as they were: deleting
 * them silently left a passkey account without recovery, and refusing would
 * only cost the owner a round trip to the same end. `recoveryCodesKept` says
 * which happened, read in the same transaction as the delete it decides.
 */
export async function disableMfa(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  proof: { code: string } | { password: string },
  now: number,
  client: ClientInfo = { userAgent: null, ip: null },
): Promise<{ recoveryCodesKept: boolean }> {
  const { user } = auth;
  if (!user.totpSecret) throw new ApiError('mfa_not_enrolled');
  // The first statement is the guard: the presented session is still live
  // and, with a code, its step is new and the secret is still the one checked
  // (no replay, no race); the later ones need its effect (MFA off).
  let clear;
  if ('code' in proof) {
    const reservation = await reserveUserAttempt(db, 'otp', user.id, now, 'totp');
    if (!reservation.ok) throw refusal(reservation, user.id, 'otp');
    const step = await checkCode(settings, user.id, user.totpSecret, proof.code, now);
    if (step === null) {
      logEvent('code_failed', { userId: user.id, reason: 'disable' });
      logLockIfSet(reservation, user.id, 'otp');
      await recordCodeFailure(db, reservation, { userId: user.id, sessionId: auth.sessionId, client, method: 'otp' }, now);
      throw new ApiError('invalid_code');
    }
    clear = and(eq(users.id, user.id), eq(users.totpSecret, user.totpSecret), lt(users.totpLastStep, step), presentedSessionLive(auth, now));
  } else {
    // The reservation and the check in one hash slot: a 503 comes before the attempt is spent, not after.
    const { reservation, check } = await passwordAttempt(() => reserveUserAttempt(db, 'pwd', user.id, now), proof.password, user.passwordHash, settings.passwordHashCost);
    if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user.id, 'password');
    if (!check!.ok) {
      logEvent('login_failed', { userId: user.id, reason: 'disable_wrong_password' });
      logLockIfSet(reservation, user.id, 'pwd');
      await recordPasswordFailure(db, reservation, { userId: user.id, sessionId: auth.sessionId, client, method: 'pwd' }, now);
      throw new ApiError('invalid_credentials');
    }
    clear = and(eq(users.id, user.id), isNotNull(users.totpSecret), presentedSessionLive(auth, now));
  }
  const disabled = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.totpSecret} IS NULL)`;
  const [, cleared, , [after]] = await db.batch([
    // The event first, under the very condition of the clear below: in one
    // transaction both see the same row, so both happen or neither does.
    recordEvent(db, 'mfa_disabled', { userId: user.id, sessionId: auth.sessionId, client, method: 'otp' }, now, sql`EXISTS (SELECT 1 FROM ${users} WHERE ${clear})`),
    db
      .update(users)
      .set({ totpSecret: null, totpLastStep: 0, pendingSecret: null, pendingExpiresAt: null, pendingSessionId: null })
      .where(clear)
      .returning({ id: users.id }),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), disabled, not(passkeyExists(user.id)))),
    db.select({ passkeys: passkeyCount(user.id) }).from(users).where(eq(users.id, user.id)),
    revokeUserSessions(db, user.id, now, { guard: disabled }),
    resetUserBudget(db, 'code' in proof ? 'otp' : 'pwd', user.id, disabled),
  ]);
  if (cleared.length !== 1) {
    // The presented session ended meanwhile (a logout landed): 401.
    await refuseIfSessionEnded(db, auth, now, settings.sessionIdleSeconds);
    // With a code: a replay or the loser of a race. With the password: MFA
    // was already turned off by a concurrent request.
    logEvent('replay_refused', { userId: user.id, reason: 'disable' });
    throw new ApiError('code' in proof ? 'invalid_code' : 'mfa_not_enrolled');
  }
  logEvent('mfa_disabled', { userId: user.id, reason: 'code' in proof ? 'code' : 'password' });
  return { recoveryCodesKept: (after?.passkeys ?? 0) > 0 };
}
