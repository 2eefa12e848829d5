import { and, eq } from 'drizzle-orm';
import type { ScryptParams } from '../../crypto/password';
import type { Db } from '../../db/client';
import { users } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { presentedSessionLive, userGone } from '../../core/sessions/guards';
import { checkCurrentPassword } from '../../core/passwords/password-check';
import { userDataDeletions } from '../../core/user-data';
import type { AuthContext } from '../../core/sessions/lookup';
import type { ClientInfo } from '../../core/sessions/store';

/**
 * DELETE /me (after step-up and the password): one batch whose first
 * statement deletes the user row only while the presented session is live;
 * the rest deletes what belongs to it only if that row is gone. Its sessions
 * go with it, so its tokens are refused at once, and the username (its unique
 * key) is free again. `beforeDeletion` runs with the password check and
 * before the batch (the provider reads which clients to tell: their rows go
 * with it).
 */
export async function deleteAccount(
  db: Db,
  cost: ScryptParams,
  auth: AuthContext,
  password: string,
  client: ClientInfo,
  now: number,
  beforeDeletion?: () => Promise<void>,
): Promise<void> {
  const { user } = auth;
  // The hook's read runs beside the password check (scrypt), so it adds no wait; a refused deletion only wasted it.
  await Promise.all([checkCurrentPassword(db, cost, user, password, { sessionId: auth.sessionId, client, reason: 'delete_wrong_password' }, now), beforeDeletion?.()]);
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
