import { and, eq, sql } from 'drizzle-orm';
import { dummyHash } from '../crypto/password';
import { passwordAttempt } from './passwords/password-check';
import type { Db } from '../db/client';
import { withReadRetry } from '../db/read-retry';
import { users, type UserRow } from '../db/schema';
import { ApiError } from './errors';
import { logEvent } from './log';
import type { Settings } from '../settings';
import { methodsOf, passkeyCount, type Method } from './factors';
import { foldForComparison } from './identity';
import { lockedError, logLockIfSet } from './throttle/throttle';
import { reservePasswordAttempt, resetUserBudget } from './throttle/user-throttle';
import { insertSessionIf, issuePasswordOnlyToken, newSession, sessionExists, type ClientInfo, type IssuedToken, type NewSession } from './sessions/store';
import { lockedEventIfSet, recordEvent } from './events';

/** No account has this id (ids are UUIDs): an event statement for it writes nothing. */
const NO_USER_ID = '';

export interface LoginResult extends IssuedToken {
  mfa: 'enroll' | 'verify';
  methods: Method[];
  /**
   * What the login read (the user row as of before its attempt) and wrote
   * (the password-only session), for a caller that shows the next step at
   * once (the provider's hosted pages) without reading them back. Never sent
   * to a client: the JSON route picks its fields.
   */
  opened: { user: UserRow; passkeyCount: number; session: NewSession };
}

/**
 * Password step. Unknown usernames take the same path as known ones: the same
 * budget schedule (an account's on its users row, an unknown username's in its
 * `pwd:` throttle row: one statement either way), the same scrypt work against
 * a dummy hash, the same 401. Only a correct password resets the count.
 */
export async function login(
  db: Db,
  settings: Settings,
  username: string,
  password: string,
  now: number,
  client: ClientInfo = { userAgent: null, ip: null },
): Promise<LoginResult> {
  const usernameKey = foldForComparison(username);
  const [row] = await withReadRetry(() => db.select({ user: users, passkeys: passkeyCount() }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1));
  const user = row?.user;
  const cost = settings.passwordHashCost;
  // The reservation, the check and a weaker hash's upgrade in one slot of the hash gate:
  // an isolate too busy to hash answers 503 before the attempt is taken from the budget.
  const attempt = await passwordAttempt(() => reservePasswordAttempt(db, user, usernameKey, now), password, user?.passwordHash ?? dummyHash(cost), cost, (check) =>
    user && check.needsRehash ? password : null,
  );
  const { reservation } = attempt;
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user?.id, 'password');
  const check = attempt.check!;
  if (!user || !check.ok) {
    logEvent('login_failed', { userId: user?.id, reason: user ? 'wrong_password' : 'unknown_user' });
    logLockIfSet(reservation, user?.id, 'pwd');
    // Only a known account has a security log to show the lock in; for an
    // unknown name the same statement runs for no user (its guard writes
    // nothing), so the attempt that sets a lock takes as long either way.
    const locked = lockedEventIfSet(db, reservation, { userId: user?.id ?? NO_USER_ID, client, method: 'pwd' }, now);
    if (locked[0]) await db.batch([locked[0]]);
    throw new ApiError('invalid_credentials');
  }
  const session = newSession(settings, user.id, false, now, ['pwd'], client);
  const upgrade = attempt.hash
    ? [
        db
          .update(users)
          .set({ passwordHash: attempt.hash })
          // Only if nobody changed it meanwhile.
          .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash))),
      ]
    : [];
  // The session only while the account still exists: a deletion that landed
  // during the scrypt work makes this login a 401, not a foreign-key failure.
  const won = sessionExists(session.id);
  const [opened] = await db.batch([
    insertSessionIf(db, session, sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id})`),
    resetUserBudget(db, 'pwd', user.id, won),
    ...upgrade,
    recordEvent(db, 'login', { userId: user.id, sessionId: session.id, client, method: 'pwd' }, now, won),
  ]);
  if (opened.meta.changes !== 1) throw new ApiError('invalid_credentials');
  if (check.needsRehash) logEvent('password_rehashed', { userId: user.id });
  logEvent('login_succeeded', { userId: user.id, sessionId: session.id });
  const methods = methodsOf(user, row.passkeys);
  return {
    ...(await issuePasswordOnlyToken(settings, user, session)),
    mfa: methods.length > 0 ? 'verify' : 'enroll',
    methods,
    opened: { user, passkeyCount: row.passkeys, session },
  };
}
