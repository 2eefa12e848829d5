import { eq } from 'drizzle-orm';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomBytes } from '../../crypto/random';
import type { Db } from '../../db/client';
import { prebuilt } from '../../db/prebuilt';
import { oidcClients, type OidcClientRow } from './tables';

/**
 * The client registry (on the primary). A confidential client's secret is
 * 256 random bits shown once; only its SHA-256 is stored: with that much
 * entropy a plain hash cannot be inverted (as the reset tokens).
 */

export interface ClientView {
  clientId: string;
  name: string;
  type: 'confidential' | 'public';
  firstParty: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  idTokenSignedResponseAlg: 'RS256' | 'EdDSA';
  backchannelLogoutUri: string | null;
  createdAt: number;
  updatedAt: number;
}

export function viewOf(row: OidcClientRow): ClientView {
  return {
    clientId: row.id,
    name: row.name,
    type: row.type as ClientView['type'],
    firstParty: row.firstParty,
    redirectUris: JSON.parse(row.redirectUris) as string[],
    postLogoutRedirectUris: JSON.parse(row.postLogoutRedirectUris) as string[],
    idTokenSignedResponseAlg: row.idTokenAlg as ClientView['idTokenSignedResponseAlg'],
    backchannelLogoutUri: row.backchannelLogoutUri,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const encoder = new TextEncoder();

export async function secretHash(secret: string): Promise<string> {
  return encodeBase64urlNoPadding(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret))));
}

export function newClientId(): string {
  return `c_${encodeBase64urlNoPadding(randomBytes(16))}`;
}

/** `cs_` + 256 random bits. */
export async function newClientSecret(): Promise<{ secret: string; hash: string }> {
  const secret = `cs_${encodeBase64urlNoPadding(randomBytes(32))}`;
  return { secret, hash: await secretHash(secret) };
}

/** Constant time over the two digests (the stored one and the presented secret's). */
export async function secretMatches(presented: string, storedHash: string | null): Promise<boolean> {
  // The hash is computed for a public client too, so both paths take alike.
  const presentedHash = await secretHash(presented);
  const expected = storedHash ?? presentedHash.replace(/./g, '\0');
  if (expected.length !== presentedHash.length) return false;
  let diff = 0;
  for (let i = 0; i < presentedHash.length; i++) diff |= presentedHash.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0 && storedHash !== null;
}

/** The registry row by id, built once per isolate (src/db/prebuilt.ts): it rides in a batch with a shard's read when the shard is the primary. */
export const clientRead = prebuilt(['id'], (db, p) => db.select().from(oidcClients).where(eq(oidcClients.id, p.id)).limit(1));

/** A client id longer than any we issue names no client, and costs no D1 read. */
export const plausibleClientId = (clientId: string) => clientId.length <= 64;

export async function findClient(db: Db, clientId: string): Promise<OidcClientRow | null> {
  if (!plausibleClientId(clientId)) return null;
  const [row] = await db.select().from(oidcClients).where(eq(oidcClients.id, clientId)).limit(1);
  return row ?? null;
}

/** RFC 8252 §7.3: a native (public) client's loopback redirect may use any port. */
const LOOPBACK_IP_HOSTS = ['127.0.0.1', '[::1]'];

/**
 * RFC 9700 §2.1: redirect URIs are compared exactly, string for string. The
 * one exception: a public client registered with http://127.0.0.1 or
 * http://[::1] may come back on another port, everything else equal.
 */
export function redirectUriRegistered(client: OidcClientRow, presented: string): boolean {
  return registeredUriFor(client, presented) !== null;
}

/** The registered URI that `presented` matches (itself, or a loopback URI on another port), or null. */
export function registeredUriFor(client: OidcClientRow, presented: string): string | null {
  const registered = JSON.parse(client.redirectUris) as string[];
  if (registered.includes(presented)) return presented;
  if (client.type !== 'public') return null;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return null;
  }
  // The presented URI must itself be in canonical form (no userinfo, fragment, or spelling the parser rewrites).
  if (url.href !== presented || url.username || url.password || url.hash || url.protocol !== 'http:' || !LOOPBACK_IP_HOSTS.includes(url.hostname)) return null;
  const match = registered.find((uri) => {
    const candidate = new URL(uri);
    if (candidate.protocol !== 'http:' || candidate.hostname !== url.hostname) return false;
    candidate.port = url.port;
    return candidate.href === presented;
  });
  return match ?? null;
}

/**
 * What the hosted pages need of a client, carried in the signed ticket so a
 * step that only shows the next page reads no registry row: its name, whether
 * it is first-party (no consent screen), and the registered redirect URI the
 * request matched. `verified`: read from the registry in this request. A
 * ticket's copy may be stale; whatever issues a code checks it against the
 * registry first (grant-flow.ts, `clientStill`).
 */
export interface ClientRef {
  id: string;
  name: string;
  firstParty: boolean;
  registeredUri: string;
  verified: boolean;
}

/** The ref of a registry row read in this request, for a redirect URI it accepts. */
export function refOf(client: OidcClientRow, redirectUri: string): ClientRef {
  return { id: client.id, name: client.name, firstParty: client.firstParty, registeredUri: registeredUriFor(client, redirectUri) ?? redirectUri, verified: true };
}

/** The registry row still says what `ref` says: same first-party flag, the redirect URI still registered. */
export function refStillHolds(client: OidcClientRow | null, ref: ClientRef, redirectUri: string): client is OidcClientRow {
  return client !== null && client.firstParty === ref.firstParty && registeredUriFor(client, redirectUri) === ref.registeredUri;
}
