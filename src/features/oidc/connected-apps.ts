import { and, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';
import { recordEvent } from '../../core/events';
import { revokeSessionsIn, type ClientInfo } from '../../core/sessions/store';
import type { Settings } from '../../settings';
import { SCOPES } from './config';
import { clientSessionLive } from './grants';
import { oidcClients, oidcCodes, oidcConsents, oidcGrants } from './tables';

/**
 * Connected apps (API.md, "Logout and revocation"): the clients holding a
 * person's consent or any token of a live client session (a refresh token,
 * or an access token not yet expired: a client without a refresh token, or
 * a first-party one that never asked for consent, holds tokens too), and
 * their revocation.
 */
export interface ConnectedApp {
  clientId: string;
  name: string;
  scopes: string[];
  createdAt: number;
  /** The last use of any of its live client sessions; null when it holds only a consent. */
  lastUsedAt: number | null;
}

export type Lifetimes = Pick<Settings, 'sessionIdleSeconds' | 'accessTokenTtlSeconds'>;

export async function connectedApps(db: Db, primary: Db, userId: string, now: number, lifetimes: Lifetimes): Promise<ConnectedApp[]> {
  // A live client session's refresh token (offline), or its last access token (issued at rotated_at, tokens.ts) before its expiry.
  const holdsTokens = or(eq(oidcGrants.offline, true), gt(sessions.rotatedAt, now - lifetimes.accessTokenTtlSeconds));
  const [consents, grants] = await Promise.all([
    db.select().from(oidcConsents).where(eq(oidcConsents.userId, userId)),
    db
      .select({ clientId: oidcGrants.clientId, scope: oidcGrants.scope, createdAt: oidcGrants.createdAt, lastUsedAt: sessions.lastUsedAt })
      .from(oidcGrants)
      .innerJoin(sessions, eq(sessions.id, oidcGrants.sessionId))
      .where(and(eq(oidcGrants.userId, userId), holdsTokens, clientSessionLive(sql`${oidcGrants.sessionId}`, now, now - lifetimes.sessionIdleSeconds))),
  ]);
  const apps = new Map<string, { scopes: Set<string>; createdAt: number; lastUsedAt: number | null }>();
  const entry = (clientId: string, createdAt: number) => {
    let app = apps.get(clientId);
    if (!app) apps.set(clientId, (app = { scopes: new Set(), createdAt, lastUsedAt: null }));
    app.createdAt = Math.min(app.createdAt, createdAt);
    return app;
  };
  for (const consent of consents) for (const scope of consent.scope.split(' ')) entry(consent.clientId, consent.createdAt).scopes.add(scope);
  for (const grant of grants) {
    const app = entry(grant.clientId, grant.createdAt);
    for (const scope of grant.scope.split(' ')) app.scopes.add(scope);
    app.lastUsedAt = Math.max(app.lastUsedAt ?? 0, grant.lastUsedAt ?? grant.createdAt);
  }
  if (apps.size === 0) return [];
  const clients = await primary.select({ id: oidcClients.id, name: oidcClients.name }).from(oidcClients).where(inArray(oidcClients.id, [...apps.keys()]));
  return clients
    .map((client) => {
      const app = apps.get(client.id)!;
      return { clientId: client.id, name: client.name, scopes: SCOPES.filter((scope) => app.scopes.has(scope)), createdAt: app.createdAt, lastUsedAt: app.lastUsedAt };
    })
    .sort((a, b) => b.createdAt - a.createdAt || (a.clientId < b.clientId ? -1 : 1));
}

/**
 * Revokes a client's access: its remembered consents, its unspent codes, and
 * every client session it holds (refresh and access tokens), in one batch.
 * False when it held nothing of this person's (404). The client hears of it
 * by back-channel logout (backchannel.ts: after any DELETE of a signed-in person).
 */
export async function revokeConnectedApp(db: Db, primary: Db, userId: string, clientId: string, now: number, lifetimes: Lifetimes, client: ClientInfo): Promise<boolean> {
  const held = (await connectedApps(db, primary, userId, now, lifetimes)).some((app) => app.clientId === clientId);
  if (!held) return false;
  const clientSessions = db.select({ id: oidcGrants.sessionId }).from(oidcGrants).where(and(eq(oidcGrants.userId, userId), eq(oidcGrants.clientId, clientId)));
  await db.batch([
    db.delete(oidcConsents).where(and(eq(oidcConsents.userId, userId), eq(oidcConsents.clientId, clientId))),
    revokeSessionsIn(db, clientSessions, now),
    db.delete(oidcCodes).where(and(eq(oidcCodes.userId, userId), eq(oidcCodes.clientId, clientId), isNull(oidcCodes.usedAt))),
    recordEvent(db, 'oidc_grant_revoked', { userId, client, reason: `client ${clientId}` }, now),
  ]);
  return true;
}
