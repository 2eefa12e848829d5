import { and, eq, type SQL } from 'drizzle-orm';
import type { ScryptParams } from '../crypto/password';
import type { Db } from '../db/client';
import { passwordResets, recoveryCodes, sessions, throttles, users, webauthnChallenges, webauthnCredentials, type UserRow } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { presentedSessionLive, userGone } from './guards';
import { checkCurrentPassword } from './password-check';
import { deleteUserEvents } from './security-events';
import type { AuthContext } from './session-lookup';
import type { ClientInfo } from './sessions';
import { throttleKey } from './throttle';

/**
 * Everything stored for a user, as statements that run only once `gone`
 * holds (the user row was deleted earlier in the same batch). The foreign
 * keys cascade too; these deletes do not depend on them.
 */
export function userDataDeletions(db: Db, user: Pick<UserRow, 'id' | 'usernameKey'>, gone: SQL) {
  return [
    db.delete(sessions).where(and(eq(sessions.userId, user.id), gone)),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), gone)),
    db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.userId, user.id), gone)),
    db.delete(webauthnCredentials).where(and(eq(webauthnCredentials.userId, user.id), gone)),
    db.delete(throttles).where(and(eq(throttles.key, throttleKey('webauthn', user.id)), gone)),
    db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), gone)),
    deleteUserEvents(db, user.id, gone),
    // Both budgets: codes by user id, passwords by the folded username, so a
    // new account with the same name starts with a clean count.
    db.delete(throttles).where(and(eq(throttles.key, throttleKey('otp', user.id)), gone)),
    db.delete(throttles).where(and(eq(throttles.key, throttleKey('pwd', user.usernameKey)), gone)),
  ] as const;
}

/**
 * DELETE /me (after step-up and the password): one batch whose first
 * statement deletes the user row only while the presented session is live;
 * the rest deletes what belongs to it only if that row is gone. Its sessions
 * go with it, so its tokens are refused at once, and the username (its unique
 * key) is free again.
 */
export async function deleteAccount(db: Db, cost: ScryptParams, auth: AuthContext, password: string, client: ClientInfo, now: number): Promise<void> {
  const { user } = auth;
  await checkCurrentPassword(db, cost, user, password, { sessionId: auth.sessionId, client, reason: 'delete_wrong_password' }, now);
  const [deleted] = await db.batch([
    db
      .delete(users)
      .where(and(eq(users.id, user.id), presentedSessionLive(auth, now)))
      .returning({ id: users.id }),
    ...userDataDeletions(db, user, userGone(user.id)),
  ]);
  if (deleted.length !== 1) {
    logEvent('token_refused', { userId: user.id, sessionId: auth.sessionId, reason: 'session_not_live' });
    throw new ApiError('unauthorized');
  }
  logEvent('account_deleted', { userId: user.id, sessionId: auth.sessionId });
}
