import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sessions, users } from '../../db/schema';
import { recordEvent } from '../../core/events';
import { revokeSession, type ClientInfo } from '../../core/sessions/store';
import { oidcGrants } from './tables';

/**
 * A client session is live while its own row is (not revoked, before its
 * end, used within the idle limit) and its provider session is not revoked
 * nor past its end: every way that ends the browser's session (DELETE
 * /sessions/:id, logout, a password change, an MFA reset) ends the tokens
 * each client got from it, in the same statement that checks them.
 */
export function clientSessionLive(sessionId: SQL | string, now: number, idleCutoff: number): SQL {
  return sql`EXISTS (SELECT 1 FROM sessions s JOIN oidc_grants g ON g.session_id = s.id JOIN sessions p ON p.id = g.provider_session_id
    WHERE s.id = ${sessionId} AND s.revoked_at IS NULL AND s.expires_at > ${now} AND s.last_used_at > ${idleCutoff}
      AND p.revoked_at IS NULL AND p.expires_at > ${now})`;
}

/**
 * `logout_sent_at` of a client session the client revoked itself (RFC 7009):
 * no logout token for that revocation (the client knows, and one for the sid
 * could sign the person out of it), but the client still holds a login for
 * the provider session, so it is owed one once that session ends
 * (backchannel-store.ts).
 */
export const LOGOUT_AFTER_PROVIDER_SESSION = 0;

/** The grant, its user and its client session, if the session is live and the grant is `clientId`'s. */
export async function liveGrant(db: Db, sessionId: string, clientId: string, now: number, idleSeconds: number) {
  const [row] = await db
    .select({ grant: oidcGrants, user: users, session: sessions })
    .from(oidcGrants)
    .innerJoin(sessions, eq(sessions.id, oidcGrants.sessionId))
    .innerJoin(users, eq(users.id, oidcGrants.userId))
    .where(and(eq(oidcGrants.sessionId, sessionId), eq(oidcGrants.clientId, clientId), clientSessionLive(sessionId, now, now - idleSeconds)))
    .limit(1);
  return row ?? null;
}

/**
 * Revokes a client session of `clientId` (RFC 7009; a reused code): its
 * refresh token and its access tokens here. `byTheClient` (RFC 7009: the
 * client asked) also defers its back-channel logout until the provider
 * session ends (LOGOUT_AFTER_PROVIDER_SESSION): the client knows of this
 * revocation, and a logout token for it could sign the person out there. A
 * reused code is not the client's doing: the hourly sweep tells it
 * (backchannel-store.ts).
 */
export async function revokeClientSession(db: Db, sessionId: string, clientId: string, now: number, client?: ClientInfo, byTheClient = false): Promise<boolean> {
  const [grant] = await db.select().from(oidcGrants).where(and(eq(oidcGrants.sessionId, sessionId), eq(oidcGrants.clientId, clientId))).limit(1);
  if (!grant) return false;
  const revokedNow = sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.revokedAt} = ${now})`;
  const [revoked] = await db.batch([
    revokeSession(db, sessionId, now).returning({ id: sessions.id }),
    recordEvent(db, 'oidc_token_revoked', { userId: grant.userId, sessionId, client, reason: `client ${clientId}` }, now, revokedNow),
    ...(byTheClient ? [db.update(oidcGrants).set({ logoutSentAt: LOGOUT_AFTER_PROVIDER_SESSION }).where(and(eq(oidcGrants.sessionId, sessionId), isNull(oidcGrants.logoutSentAt), revokedNow))] : []),
  ]);
  return revoked.length === 1;
}
