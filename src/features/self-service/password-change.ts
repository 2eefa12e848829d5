import { and, eq } from 'drizzle-orm';
import type { ScryptParams } from '../../crypto/password';
import type { Db } from '../../db/client';
import { passwordResets, users } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { passwordHashIs, presentedSessionLive } from '../../core/sessions/guards';
import { passwordProblem } from '../../core/passwords/common-passwords';
import { checkCurrentPassword } from '../../core/passwords/password-check';
import { recordEvent } from '../../core/events';
import type { AuthContext } from '../../core/sessions/lookup';
import { revokeUserSessions, type ClientInfo } from '../../core/sessions/store';
import { resetUserBudget } from '../../core/throttle/user-throttle';

/**
 * POST /password (after step-up). The new password meets the registration
 * rules (checked first: a weak one is a client mistake and costs no guess),
 * the current one is checked under the /login budget, and the new hash is
 * made at the configured cost. One batch: the first statement writes the hash
 * only if the old one is still stored and this session is still live; every
 * later statement runs only if that write landed. Every other session is
 * revoked (a thief who knew the old password loses the sessions it opened);
 * this one stays. Outstanding reset tokens die with the old password.
 */
export async function changePassword(
  db: Db,
  cost: ScryptParams,
  auth: AuthContext,
  currentPassword: string,
  newPassword: string,
  client: ClientInfo,
  now: number,
): Promise<void> {
  const { user } = auth;
  // The registration rules, the blocklist of common passwords included.
  const problem = await passwordProblem(db, user.username, newPassword);
  if (problem) throw new ApiError('weak_password', { message: problem });
  // The new hash in the same hash slot as the check: a 503 never follows a counted attempt.
  const passwordHash = (await checkCurrentPassword(db, cost, user, currentPassword, { sessionId: auth.sessionId, client, reason: 'password_change_wrong_password' }, now, newPassword))!;
  const changed = passwordHashIs(user.id, passwordHash);
  const [written] = await db.batch([
    db
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash), presentedSessionLive(auth, now)))
      .returning({ id: users.id }),
    revokeUserSessions(db, user.id, now, { keepSessionId: auth.sessionId, guard: changed }),
    resetUserBudget(db, 'pwd', user.id, changed),
    db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), changed)),
    recordEvent(db, 'password_changed', { userId: user.id, sessionId: auth.sessionId, client, method: 'pwd' }, now, changed),
  ]);
  if (written.length !== 1) {
    // A concurrent change of the password, or this session ended meanwhile.
    logEvent('replay_refused', { userId: user.id, sessionId: auth.sessionId, reason: 'password_change' });
    throw new ApiError('invalid_credentials');
  }
  logEvent('password_changed', { userId: user.id, sessionId: auth.sessionId });
}
