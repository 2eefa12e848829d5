import { eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { recoveryCodes, throttles, users, webauthnChallenges, webauthnCredentials } from '../../db/schema';
import { methodsOf, passkeyCount } from '../../core/factors';
import { logEvent } from '../../core/log';
import { foldForComparison } from '../../core/identity';
import { recordEvent } from '../../core/events';
import { revokeUserSessions } from '../../core/sessions/store';
import { throttleKey } from '../../core/throttle/throttle';
import { clearedBudget, userLocked } from '../../core/throttle/user-throttle';
import { isoInstant } from '../../core/time';
import { clearCredentialBudgets, credentialBudgetLocked } from '../../core/passwordless/budget';

/** What support sees of an account: never a hash, a secret or a code. */
export interface AdminUserView {
  id: string;
  username: string;
  createdAt: string;
  methods: string[];
  locked: boolean;
}

/** GET /admin/users?username=: the account, found without regard to case; null when there is none. */
export async function findUser(db: Db, primary: Db, username: string, now: number): Promise<AdminUserView | null> {
  // The passkey lock counts too: it is one of the locks unlock clears (throttle row `webauthn:<user id>`).
  const passkeyLockedUntil = sql<number | null>`(SELECT ${throttles.lockedUntil} FROM ${throttles} WHERE ${throttles.key} = 'webauthn:' || "users"."id")`;
  const usernameKey = foldForComparison(username);
  const [[row], credentials] = await db.batch([
    db.select({ user: users, passkeys: passkeyCount(), passkeyLockedUntil }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1),
    passkeyIdsOf(db, sql`(SELECT ${users.id} FROM ${users} WHERE ${users.usernameKey} = ${usernameKey})`),
  ]);
  if (!row) return null;
  const { user, passkeys } = row;
  // And so does a passkey's passwordless sign-in lock (`pkcred:*`, on the primary), which unlock clears too.
  const locked = userLocked(user, now) || (row.passkeyLockedUntil ?? 0) > now || (await credentialBudgetLocked(primary, credentials.map((c) => c.id), now));
  return {
    id: user.id,
    username: user.username,
    createdAt: isoInstant(user.createdAt),
    methods: methodsOf(user, passkeys),
    locked,
  };
}

/** The ids of an account's passkeys (at most PASSKEYS_PER_USER_MAX): the subjects of their passwordless budgets. */
function passkeyIdsOf(db: Db, userId: string | SQL) {
  return db.select({ id: webauthnCredentials.id }).from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId));
}

/**
 * POST /admin/users/{id}/reset-mfa, for someone who lost both phone and
 * recovery codes: the TOTP secret (active and pending) and the recovery codes
 * go, every session is revoked, the code budget is cleared, and an
 * `admin_mfa_reset` event with support's reason is left where the user sees
 * it. The next login asks to enroll. One batch; the first statement finds the
 * user. false: no such user. Passkeys and their outstanding challenges go too.
 */
export async function resetMfa(db: Db, userId: string, reason: string, now: number): Promise<boolean> {
  const [found] = await db.batch([
    db
      .update(users)
      .set({ totpSecret: null, totpLastStep: 0, pendingSecret: null, pendingExpiresAt: null, ...clearedBudget('otp') })
      .where(eq(users.id, userId))
      .returning({ id: users.id }),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.delete(webauthnCredentials).where(eq(webauthnCredentials.userId, userId)),
    db.delete(webauthnChallenges).where(eq(webauthnChallenges.userId, userId)),
    db.delete(throttles).where(eq(throttles.key, throttleKey('webauthn', userId))),
    revokeUserSessions(db, userId, now),
    recordEvent(db, 'admin_mfa_reset', { userId, reason }, now),
  ]);
  if (found.length !== 1) return false;
  logEvent('admin_action', { userId, reason: 'mfa_reset' });
  return true;
}

/**
 * POST /admin/users/{id}/unlock: clears the password, code and passkey budgets
 * (and so any lock, including the factor lock after 100 failures and the passkey
 * lock: a passkey-only account whose passkey someone with the password keeps at
 * 429 is otherwise beyond support's remedy), and the passwordless sign-in budget
 * of each of its passkeys (`pkcred:*`, on the primary: anyone who knows a
 * credential id can hold its sign-in at 429). The account's shard first, in one
 * batch; then the primary (a second call after a fault there clears what is
 * left). false: no such user.
 */
export async function unlockUser(db: Db, primary: Db, userId: string, reason: string, now: number): Promise<boolean> {
  const [cleared, , , credentials] = await db.batch([
    db
      .update(users)
      .set({ ...clearedBudget('otp'), ...clearedBudget('pwd') })
      .where(eq(users.id, userId))
      .returning({ id: users.id }),
    db.delete(throttles).where(eq(throttles.key, throttleKey('webauthn', userId))),
    recordEvent(db, 'admin_unlock', { userId, reason }, now),
    passkeyIdsOf(db, userId),
  ]);
  if (cleared.length !== 1) return false;
  await clearCredentialBudgets(primary, credentials.map((c) => c.id));
  logEvent('admin_action', { userId, reason: 'unlock' });
  return true;
}
