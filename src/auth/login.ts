import { and, eq } from 'drizzle-orm';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../crypto/password';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { Settings } from '../settings';
import { methodsOf, passkeyCount, type Method } from './factors';
import { foldForComparison } from './identity';
import { lockedError, logLockIfSet, reserveAttempt, resetThrottle } from './throttle';
import { insertSession, issuePasswordOnlyToken, newSession, type ClientInfo, type IssuedToken } from './sessions';

export interface LoginResult extends IssuedToken {
  mfa: 'enroll' | 'verify';
  methods: Method[];
}

/**
 * Password step. Unknown usernames take the same path as known ones: the same
 * throttle row (keyed by the folded username, whether or not it exists), the
 * same scrypt work against a dummy hash, the same 401. Only a correct password
 * resets the count.
 */
export async function login(db: Db, settings: Settings, username: string, password: string, now: number): Promise<LoginResult> {
  const usernameKey = foldForComparison(username);
  const [row] = await db.select({ user: users, passkeys: passkeyCount() }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1);
  const user = row?.user;
  const reservation = await reserveAttempt(db, 'pwd', usernameKey, now);
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user?.id, 'password');
  const check = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  if (!user || !check.ok) {
    logEvent('login_failed', { userId: user?.id, reason: user ? 'wrong_password' : 'unknown_user' });
    logLockIfSet(reservation, user?.id, 'pwd');
    throw new ApiError('invalid_credentials');
  }
  const session = newSession(settings, user.id, false, now);
  const upgrade = check.needsRehash
    ? [
        db
          .update(users)
          .set({ passwordHash: await hashPassword(password) })
          // Only if nobody changed it meanwhile.
          .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash))),
      ]
    : [];
  await db.batch([resetThrottle(db, 'pwd', usernameKey), insertSession(db, session), ...upgrade]);
  if (check.needsRehash) logEvent('password_rehashed', { userId: user.id });
  logEvent('login_succeeded', { userId: user.id, sessionId: session.id });
  const methods = methodsOf(user, row.passkeys);
  return { ...(await issuePasswordOnlyToken(settings, user, session)), mfa: methods.length > 0 ? 'verify' : 'enroll', methods };
}
