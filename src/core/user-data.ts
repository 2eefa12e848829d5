import { and, eq, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { passwordResets, recoveryCodes, sessions, throttles, webauthnChallenges, webauthnCredentials, type UserRow } from '../db/schema';
import { deleteUserEvents } from './events';
import { throttleKey } from './throttle/throttle';

/**
 * THE list of what an account owns beyond its users row: account deletion
 * empties every table here (test/features/self-service/delete.test.ts checks
 * that no table with a user column keeps a row of a deleted user). A new
 * table that stores something of a user's is one line here.
 */
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

