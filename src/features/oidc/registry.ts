import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { logEvent } from '../../core/log';
import { revokeSessionsIn } from '../../core/sessions/store';
import { newClientId, newClientSecret, viewOf, type ClientView } from './clients';
import type { ClientCreate, ClientPatch } from './schemas';
import { oidcClients, oidcCodes, oidcConsents, oidcGrants } from './tables';

/**
 * The support API's flows for clients. Each change is a support-log line
 * (`oidc_client_changed`, with the client id and what changed, never a
 * secret): a client belongs to the deployment, not to one person, so it has
 * no security log of its own.
 */

export async function createClient(primary: Db, input: ClientCreate, now: number): Promise<ClientView & { clientSecret?: string }> {
  const secret = input.type === 'confidential' ? await newClientSecret() : null;
  const [row] = await primary
    .insert(oidcClients)
    .values({
      id: newClientId(),
      name: input.name,
      type: input.type,
      firstParty: input.firstParty ?? false,
      redirectUris: JSON.stringify(input.redirectUris),
      postLogoutRedirectUris: JSON.stringify(input.postLogoutRedirectUris ?? []),
      idTokenAlg: input.idTokenSignedResponseAlg ?? 'RS256',
      backchannelLogoutUri: input.backchannelLogoutUri ?? null,
      secretHash: secret?.hash ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  logEvent('oidc_client_changed', { reason: `created ${row!.id}` });
  return secret ? { ...viewOf(row!), clientSecret: secret.secret } : viewOf(row!);
}

export async function listClients(primary: Db): Promise<ClientView[]> {
  return (await primary.select().from(oidcClients).orderBy(oidcClients.createdAt, oidcClients.id)).map(viewOf);
}

export async function patchClient(primary: Db, clientId: string, input: ClientPatch, now: number): Promise<ClientView | null> {
  const [row] = await primary
    .update(oidcClients)
    .set({
      updatedAt: now,
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.redirectUris !== undefined ? { redirectUris: JSON.stringify(input.redirectUris) } : {}),
      ...(input.postLogoutRedirectUris !== undefined ? { postLogoutRedirectUris: JSON.stringify(input.postLogoutRedirectUris) } : {}),
      ...(input.firstParty !== undefined ? { firstParty: input.firstParty } : {}),
      ...(input.idTokenSignedResponseAlg !== undefined ? { idTokenAlg: input.idTokenSignedResponseAlg } : {}),
      ...(input.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: input.backchannelLogoutUri } : {}),
    })
    .where(eq(oidcClients.id, clientId))
    .returning();
  if (!row) return null;
  logEvent('oidc_client_changed', { reason: `updated ${clientId}: ${Object.keys(input).sort().join(',')}` });
  return viewOf(row);
}

/** A new secret; the old one stops working with this statement. Public clients have none: null. */
export async function rotateClientSecret(primary: Db, clientId: string, now: number): Promise<string | null> {
  const secret = await newClientSecret();
  const [row] = await primary
    .update(oidcClients)
    .set({ secretHash: secret.hash, updatedAt: now })
    .where(and(eq(oidcClients.id, clientId), eq(oidcClients.type, 'confidential')))
    .returning({ id: oidcClients.id });
  if (!row) return null;
  logEvent('oidc_client_changed', { reason: `secret rotated ${clientId}` });
  return secret.secret;
}

/**
 * Deletes the client, then, shard by shard, its codes, consents and grants,
 * revoking the client sessions behind them. The registry row goes first: from
 * then on /token refuses the client, so a shard reached late cannot be used.
 */
export async function deleteClient(primary: Db, shards: Db[], clientId: string, now: number): Promise<boolean> {
  const [row] = await primary.delete(oidcClients).where(eq(oidcClients.id, clientId)).returning({ id: oidcClients.id });
  if (!row) return false;
  for (const db of shards) {
    const granted = db.select({ id: oidcGrants.sessionId }).from(oidcGrants).where(eq(oidcGrants.clientId, clientId));
    await db.batch([
      revokeSessionsIn(db, granted, now),
      db.delete(oidcCodes).where(eq(oidcCodes.clientId, clientId)),
      db.delete(oidcConsents).where(eq(oidcConsents.clientId, clientId)),
    ]);
  }
  logEvent('oidc_client_changed', { reason: `deleted ${clientId}` });
  return true;
}
