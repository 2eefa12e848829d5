import type { Context } from 'hono';
import type { Db } from '../../db/client';
import { logEvent } from '../../core/log';
import { findClient, secretMatches } from './clients';
import { isOAuthError, OAuthError } from './oauth-error';
import type { OidcClientRow } from './tables';

/** API.md's bound on bodies holds here too. */
const MAX_FORM_BYTES = 16 * 1024;

/**
 * An `application/x-www-form-urlencoded` body (RFC 6749 §3.2, §4.1.3) as a
 * map. A parameter sent twice is `invalid_request` (RFC 6749 §3.1): which
 * copy counts must never be a guess.
 */
export async function readForm(c: Context): Promise<Map<string, string> | OAuthError> {
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength > MAX_FORM_BYTES) return new OAuthError('invalid_request', 'The request body is too large.');
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(bytes))) {
    if (form.has(name)) return new OAuthError('invalid_request', `The parameter ${name.slice(0, 40)} is repeated.`);
    form.set(name, value);
  }
  return form;
}

export interface Authenticated {
  client: OidcClientRow;
  usedBasic: boolean;
}

/** RFC 6749 §2.3.1: Basic's user and password are form-encoded before base64. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null | 'malformed' {
  if (header === undefined) return null;
  const match = /^basic +([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
  if (!match) return /^basic\b/i.test(header.trim()) ? 'malformed' : null;
  try {
    const decoded = atob(match[1]!);
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'malformed';
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/** Who the request says it is: the client id and the secret it presented (none for a public client). */
export interface Credentials {
  clientId: string;
  secret: string | undefined;
  usedBasic: boolean;
}

function refused(reason: string): OAuthError {
  logEvent('oidc_client_refused', { reason });
  return new OAuthError('invalid_client', 'Client authentication failed.');
}

/**
 * The credentials of a /token or /revoke request, read without D1:
 * `client_secret_basic`, `client_secret_post`, or none for a public client
 * (which then names itself with `client_id`). Using two methods at once is
 * `invalid_request` (RFC 6749 §2.3).
 */
export function clientCredentials(c: Context, form: Map<string, string>): Credentials | OAuthError {
  const basic = basicCredentials(c.req.header('Authorization'));
  if (basic === 'malformed') return refused('malformed_basic');
  const postSecret = form.get('client_secret');
  const bodyId = form.get('client_id');
  if (basic && postSecret !== undefined) return new OAuthError('invalid_request', 'Use one client authentication method.');
  if (basic && bodyId !== undefined && bodyId !== basic.id) return new OAuthError('invalid_request', 'client_id does not match the Basic credentials.');
  const clientId = basic?.id ?? bodyId;
  if (!clientId) return refused('no_client_id');
  return { clientId, secret: basic?.secret ?? postSecret, usedBasic: basic !== null };
}

/**
 * The credentials checked against the client's registry row as read in this
 * request (never a copy kept across requests, so a deletion or a secret
 * rotation counts from the statement that made it). An unknown client or a
 * wrong or missing secret is `invalid_client`, the same for each.
 */
export async function verifyClient(client: OidcClientRow | null, credentials: Credentials): Promise<Authenticated | OAuthError> {
  const { secret, usedBasic } = credentials;
  if (!client) {
    // The same hashing work for an unknown client as for a known one.
    await secretMatches(secret ?? '', null);
    return refused('unknown_client');
  }
  if (client.type === 'public') {
    if (secret !== undefined) return refused('public_client_with_secret');
    return { client, usedBasic };
  }
  if (secret === undefined || !(await secretMatches(secret, client.secretHash))) return refused('wrong_secret');
  return { client, usedBasic };
}

/** Client authentication at /token (refresh_token) and /revoke: the credentials, then the registry row. */
export async function authenticateClient(c: Context, primary: Db, form: Map<string, string>): Promise<Authenticated | OAuthError> {
  const credentials = clientCredentials(c, form);
  if (isOAuthError(credentials)) return credentials;
  return verifyClient(await findClient(primary, credentials.clientId), credentials);
}
