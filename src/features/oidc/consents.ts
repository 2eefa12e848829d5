import { and, eq, sql, type SQL } from 'drizzle-orm';
import { recordEvent } from '../../core/events';
import type { ClientInfo } from '../../core/sessions/store';
import type { Db } from '../../db/client';
import { logEvent } from '../../core/log';
import { oidcConsents } from './tables';

/**
 * Remembered consent, per person, client and scope set (the scopes in their
 * fixed order, so `openid profile` asked in any order is one set). A consent
 * names its client: one client's consent is never another's.
 */
export async function hasConsent(db: Db, userId: string, clientId: string, scope: string): Promise<boolean> {
  const [row] = await consentRead(db, userId, clientId, scope);
  return row !== undefined;
}

/** hasConsent's read, unexecuted (for a batch): one row if the consent is remembered. */
export function consentRead(db: Db, userId: string, clientId: string, scope: string) {
  return db
    .select({ at: oidcConsents.createdAt })
    .from(oidcConsents)
    .where(and(eq(oidcConsents.userId, userId), eq(oidcConsents.clientId, clientId), eq(oidcConsents.scope, scope)))
    .limit(1);
}

/** The same as SQL, for a guard. */
export function consentExists(userId: string, clientId: string, scope: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${oidcConsents} WHERE ${oidcConsents.userId} = ${userId} AND ${oidcConsents.clientId} = ${clientId} AND ${oidcConsents.scope} = ${scope})`;
}

export async function recordConsent(db: Db, source: { userId: string; sessionId: string; client: ClientInfo }, clientId: string, scope: string, allowed: boolean, now: number): Promise<void> {
  const event = recordEvent(db, allowed ? 'oidc_consent_granted' : 'oidc_consent_denied', { ...source, reason: `client ${clientId}: ${scope}` }, now);
  if (allowed) {
    await db.batch([db.insert(oidcConsents).values({ userId: source.userId, clientId, scope, createdAt: now }).onConflictDoNothing(), event]);
  } else {
    await db.batch([event]);
  }
  logEvent('oidc_consent', { userId: source.userId, sessionId: source.sessionId, reason: allowed ? 'granted' : 'denied' });
}
