import { and, eq, isNotNull, lt, sql } from 'drizzle-orm';
import { SESSION_TOUCH_INTERVAL_SECONDS } from '../../settings/tunables';
import type { Db } from '../../db/client';
import { sessions, users, webauthnCredentials, type SessionRow, type UserRow } from '../../db/schema';
import { sessionLive } from '../../core/sessions/store';
import { tagMatches, tagOf } from './hmac';
import type { Acr } from '../../tokens/access-token';

/**
 * The provider session: the browser's signed-in state at the provider, a
 * full `sessions` row (so GET /sessions lists it, and DELETE /sessions/:id,
 * logout, a password change and an MFA reset end it), named by one cookie
 * whose value is the session id and an HMAC of it: nothing stored rebuilds
 * the cookie, and the id carries the shard (src/db/shard-ids.ts).
 */

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function providerCookieValue(key: CryptoKey, sessionId: string): Promise<string> {
  return `${sessionId}.${await tagOf(key, 'provider-session', sessionId)}`;
}

/** The session id a genuine cookie names, or null. */
export async function sessionIdOfCookie(key: CryptoKey, value: string | undefined): Promise<string | null> {
  if (!value || value.length > 100) return null;
  const [sessionId, tag, ...rest] = value.split('.');
  if (!sessionId || !tag || rest.length > 0 || !SESSION_ID.test(sessionId)) return null;
  return (await tagMatches(key, tag, 'provider-session', sessionId)) ? sessionId : null;
}

export interface ProviderSession {
  session: SessionRow;
  user: UserRow;
}

/**
 * The session, if it is live and full: a second factor was proven in it
 * (`authorized`, `auth_time` set). A password-only session is never a
 * provider session, whatever cookie names it.
 */
export async function liveProviderSession(db: Db, sessionId: string, now: number, idleSeconds: number): Promise<ProviderSession | null> {
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), eq(sessions.authorized, true), isNotNull(sessions.authTime), sessionLive(now, idleSeconds)))
    .limit(1);
  return row ?? null;
}

/** The idle limit counts from the last use; written at most once a minute, as for the JSON API's sessions. */
export async function touchProviderSession(db: Db, sessionId: string, now: number): Promise<void> {
  await db
    .update(sessions)
    .set({ lastUsedAt: now })
    .where(and(eq(sessions.id, sessionId), lt(sessions.lastUsedAt, now - SESSION_TOUCH_INTERVAL_SECONDS)));
}

/**
 * A passkey that is not backup eligible (BE=0, WebAuthn L3 §6.1.3: a
 * single-device credential, whose key cannot leave the authenticator; BS=0
 * alone only says it is not backed up yet) adds RFC 8176's `hwk` to the session's methods, so what
 * the session proved is recorded with it (and `acr` can say `phrh`).
 */
export async function markDeviceBound(db: Db, sessionId: string, userId: string, credentialId: unknown): Promise<void> {
  if (typeof credentialId !== 'string' || credentialId.length > 1400) return;
  await db.run(sql`UPDATE ${sessions} SET ${sql.identifier('amr')} = 'pwd pop hwk'
    WHERE ${sessions.id} = ${sessionId} AND ${sessions.amr} = 'pwd pop'
      AND EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.id} = ${credentialId} AND ${webauthnCredentials.userId} = ${userId} AND ${webauthnCredentials.backupEligible} = 0)`);
}

/**
 * OpenID Connect EAP ACR Values: what the session's proof satisfies, the
 * strongest first: a device-bound passkey (`hwk`) `phrh`, any passkey `phr`,
 * TOTP or a recovery code `aal2`; a session whose row records an `acr`
 * (a passwordless sign-in) is worth that.
 */
export function provenAcr(amr: string, stored: string | null = null): Acr {
  // A passwordless passkey sign-in records its acr on the session row itself.
  if (stored === 'phrh' || stored === 'phr') return stored;
  const methods = amr.split(' ');
  if (methods.includes('hwk')) return 'phrh';
  if (methods.includes('pop')) return 'phr';
  return 'aal2';
}
