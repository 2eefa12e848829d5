/** The account's passkeys: listed, and removed one at a time (never the last second factor). */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { users, webauthnCredentials } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { passkeyEvent } from '../../core/events';
import { revokeUserSessions, type ClientInfo } from '../../core/sessions/store';
import { credentialsOf } from '../../core/second-factor/passkey-store';
import type { AuthContext } from '../../core/sessions/lookup';
import { isoInstant } from '../../core/time';

export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** BS as last seen: the passkey is synced (backed up) by its provider. */
  backedUp: boolean;
  /** Registered with UV: may sign in alone, without the password. */
  passwordless: boolean;
}


export async function listPasskeys(db: Db, auth: AuthContext): Promise<PasskeySummary[]> {
  const rows = await credentialsOf(db, auth.user.id);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    createdAt: isoInstant(row.createdAt),
    lastUsedAt: row.lastUsedAt === null ? null : isoInstant(row.lastUsedAt),
    backedUp: row.backupState,
    passwordless: row.passwordless,
  }));
}

/**
 * One guarded DELETE: the passkey goes only if another factor stays (a TOTP secret
 * or another passkey) when the statement runs, so two concurrent removals of an
 * account's last two factors cannot both succeed. Not this user's: 404.
 *
 * `endSessions` (ASVS 5.0 V7.4.3): every other session of the account ends in the
 * same batch. Sessions record how (`amr`), not with which passkey, so "the sessions
 * proven with it" cannot be told from those of another passkey; every other session
 * is what ASVS asks to offer, and a stolen passkey's sessions are among them. The
 * caller's own session stays (it just proved a factor within 300 s).
 */
export async function removePasskey(db: Db, auth: AuthContext, id: string, now: number, client: ClientInfo, endSessions = false): Promise<void> {
  const userId = auth.user.id;
  const anotherFactorStays = sql`(EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.totpSecret} IS NOT NULL)
    OR EXISTS (SELECT 1 FROM ${webauthnCredentials} AS other WHERE other.user_id = ${userId} AND other.id <> ${id}))`;
  const removable = and(eq(webauthnCredentials.id, id), eq(webauthnCredentials.userId, userId), anotherFactorStays)!;
  // The event and the sessions' end first, under the very condition of the DELETE:
  // in one transaction all see the same rows, so all happen or none does.
  const removes = sql`EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${removable})`;
  const event = passkeyEvent(db, 'passkey_removed', { userId, sessionId: auth.sessionId, client, reason: endSessions ? 'others' : null }, now, removes);
  const deletion = db.delete(webauthnCredentials).where(removable).returning({ id: webauthnCredentials.id });
  const removed = endSessions
    ? (await db.batch([event, revokeUserSessions(db, userId, now, { keepSessionId: auth.sessionId, guard: removes }), deletion]))[2]
    : (await db.batch([event, deletion]))[1];
  if (removed.length === 1) {
    logEvent('passkey_removed', { userId, sessionId: auth.sessionId, reason: endSessions ? 'others' : undefined });
    return;
  }
  const [mine] = await db
    .select({ id: webauthnCredentials.id })
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.id, id), eq(webauthnCredentials.userId, userId)))
    .limit(1);
  if (mine) throw new ApiError('last_factor');
  throw new ApiError('not_found', { message: 'No such passkey.' });
}
