import { eq, sql } from 'drizzle-orm';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { recordEvent } from '../../core/events';
import type { ClientInfo, NewSession } from '../../core/sessions/store';
import type { Db } from '../../db/client';
import { batchPrebuilt, prebuilt, prefixedColumns } from '../../db/prebuilt';
import { withReadRetry } from '../../db/read-retry';
import { sessions, users } from '../../db/schema';
import { idOnShardOf } from '../../db/shard-ids';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import { CODE_VERIFIER } from './config';
import { codeHashOf, findCode } from './codes';
import { clientRead, plausibleClientId, redirectUriRegistered } from './clients';
import { verifyClient, type Credentials } from './client-auth';
import { revokeClientSession } from './grants';
import { isOAuthError, OAuthError } from './oauth-error';
import { isAcr, satisfies } from './acr';
import { provenAcr } from './provider-session';
import { oidcCodes, type OidcClientRow, type OidcCodeRow } from './tables';
import { issueTokens, type TokenSet } from './tokens';
import { clientSessionInsert, codeSpend, exchangedEvent, grantInsert } from './exchange-statements';
import { randomId } from '../../crypto/random';

const encoder = new TextEncoder();
const badGrant = () => new OAuthError('invalid_grant', 'The code is invalid, expired, already used, or was issued to another client or redirect URI.');

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
async function pkceMatches(verifier: string, challenge: string): Promise<boolean> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(verifier)));
  return encodeBase64urlNoPadding(digest) === challenge;
}

/**
 * RFC 6749 §4.1.2: a code presented again means it leaked; every token the
 * first exchange issued is revoked (its client session: the refresh token,
 * and the access token wherever this service checks one).
 */
async function refuseReuse(db: Db, row: OidcCodeRow, now: number, client: ClientInfo, onRevoked: (userId: string) => void): Promise<OAuthError> {
  if (row.sessionId) {
    await revokeClientSession(db, row.sessionId, row.clientId, now, client);
    // Its back-channel logout now, not at the next hourly sweep.
    onRevoked(row.userId);
  }
  await db.batch([recordEvent(db, 'oidc_code_reused', { userId: row.userId, sessionId: row.sessionId, client, reason: `client ${row.clientId}` }, now)]);
  logEvent('oidc_code_reused', { userId: row.userId, sessionId: row.sessionId ?? undefined });
  return badGrant();
}

async function refuse(db: Db, row: OidcCodeRow, reason: string, now: number, client: ClientInfo): Promise<OAuthError> {
  await db.batch([recordEvent(db, 'oidc_code_refused', { userId: row.userId, client, reason: `client ${row.clientId}: ${reason}` }, now)]);
  logEvent('oidc_code_refused', { userId: row.userId, reason });
  return badGrant();
}

/**
 * The code with what the exchange needs of its provider session and its user,
 * in one read built once per isolate; each table's columns under prefixed
 * names, since a batch names a row's values by column (src/db/prebuilt.ts).
 */
const codeRead = prebuilt(['codeHash'], (db, p) =>
  db
    .select({ code: prefixedColumns(oidcCodes, 'c_'), provider: prefixedColumns(sessions, 'p_'), username: sql<string | null>`${users.username}`.as('u_username') })
    .from(oidcCodes)
    .leftJoin(sessions, eq(sessions.id, oidcCodes.providerSessionId))
    .leftJoin(users, eq(users.id, oidcCodes.userId))
    .where(eq(oidcCodes.codeHash, p.codeHash))
    .limit(1),
);

type CodeRead = ReturnType<ReturnType<typeof codeRead>['map']>[number];

/**
 * The exchange's reads, both before anything is written: the client's
 * registry row (on the primary) and the code with its provider session and
 * user (on the code's shard). One batch when the shard is the primary; two
 * reads at once otherwise, so the request still waits for one round trip.
 */
async function readClientAndCode(primary: Db, db: Db, clientId: string, codeHash: string): Promise<[OidcClientRow | null, CodeRead | null]> {
  const code = codeRead(db, { codeHash });
  if (!plausibleClientId(clientId)) return [null, (await withReadRetry(() => batchPrebuilt(db, [code])))[0][0] ?? null];
  const client = clientRead(primary, { id: clientId });
  if (db === primary) {
    const [[clientRow], [codeRow]] = await withReadRetry(() => batchPrebuilt(db, [client, code]));
    return [clientRow ?? null, codeRow ?? null];
  }
  const [[[clientRow]], [[codeRow]]] = await Promise.all([withReadRetry(() => batchPrebuilt(primary, [client])), withReadRetry(() => batchPrebuilt(db, [code]))]);
  return [clientRow ?? null, codeRow ?? null];
}

/**
 * grant_type=authorization_code: two D1 round trips. The first reads the
 * client and the code (with its provider session and user); the client is
 * authenticated against that row, then the checks that need no write
 * (binding to the client, the redirect URI and the PKCE challenge; expiry; a
 * live provider session). The second is one db.batch() whose first statement
 * spends the code by compare-and-swap, and whose later statements open the
 * client session and its grant only if that statement named this exchange's
 * session and the provider session is still live: of two exchanges at once
 * exactly one gets tokens. A client deleted after the read cannot keep what
 * it got: deleteClient removes the registry row first, then on each shard
 * deletes the codes and revokes the sessions of the client's grants, in one
 * batch that lands either before this one (no code to spend) or after it
 * (the new session revoked).
 */
export async function exchangeCode(
  primary: Db,
  db: Db,
  settings: Settings,
  credentials: Credentials,
  params: { code: string; redirectUri: string; codeVerifier: string },
  now: number,
  clientInfo: ClientInfo,
  onRevoked: (userId: string) => void = () => {},
): Promise<TokenSet | OAuthError> {
  const codeHash = await codeHashOf(params.code);
  const [clientRow, read] = await readClientAndCode(primary, db, credentials.clientId, codeHash);
  const authenticated = await verifyClient(clientRow, credentials);
  if (isOAuthError(authenticated)) return authenticated;
  const { client } = authenticated;
  if (!CODE_VERIFIER.test(params.codeVerifier)) return new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters.');
  if (!read) {
    logEvent('oidc_code_refused', { reason: 'unknown_code' });
    return badGrant();
  }
  const row = read.code;
  if (row.usedAt !== null) return refuseReuse(db, row, now, clientInfo, onRevoked);
  if (row.clientId !== client.id) return refuse(db, row, 'another client', now, clientInfo);
  if (row.redirectUri !== params.redirectUri) return refuse(db, row, 'redirect_uri mismatch', now, clientInfo);
  // A redirect URI removed from the registration stops working at once: a code it received a moment before is refused too.
  if (!redirectUriRegistered(client, row.redirectUri)) return refuse(db, row, 'redirect_uri no longer registered', now, clientInfo);
  if (row.expiresAt <= now) return refuse(db, row, 'expired', now, clientInfo);
  if (!(await pkceMatches(params.codeVerifier, row.codeChallenge))) return refuse(db, row, 'PKCE verifier mismatch', now, clientInfo);
  const provider = read.provider;
  // A LEFT JOIN that found no session (or no user) leaves these null.
  if (provider.id === null || provider.revokedAt !== null || provider.expiresAt <= now || !provider.authorized || provider.authTime === null || read.username === null) {
    return refuse(db, row, 'provider session ended', now, clientInfo);
  }
  const session: NewSession = {
    id: idOnShardOf(row.userId),
    userId: row.userId,
    authorized: true,
    createdAt: now,
    // The client session lasts no longer than the sign-in it came from.
    expiresAt: provider.expiresAt,
    revokedAt: null,
    authTime: provider.authTime,
    amr: provider.amr,
    acr: provider.acr,
    generation: 0,
    rotatedAt: now,
    lastUsedAt: now,
    userAgent: clientInfo.userAgent,
    ip: clientInfo.ip,
  };
  // The acr chosen when the code was issued (the first acr_values entry the sign-in met), and never more than the session proved.
  const proven = provenAcr(provider.amr, provider.acr);
  const acr = isAcr(row.acr) && satisfies(proven, row.acr) ? row.acr : proven;
  const grant = { providerSessionId: row.providerSessionId, scope: row.scope, acr, offline: row.offline };
  const [spent, inserted] = await batchPrebuilt(db, [
    codeSpend(db, { codeHash: row.codeHash, sid: session.id, now }),
    clientSessionInsert(db, { ...session, authorized: 1, commitId: null, codeHash: row.codeHash, providerSessionId: row.providerSessionId, now }),
    grantInsert(db, { sessionId: session.id, sid: session.id, clientId: client.id, userId: row.userId, createdAt: now, logoutSentAt: null, logoutClaimedAt: null, logoutAttempts: 0, ...grant, offline: grant.offline ? 1 : 0 }),
    exchangedEvent(db, { eventId: randomId(), userId: row.userId, now, sid: session.id, userAgent: clientInfo.userAgent, ip: clientInfo.ip, reason: `client ${client.id}` }),
  ]);
  if (spent.length !== 1) {
    // Another exchange spent it first (or it expired this instant): the same rule as a later reuse.
    const after = await findCode(db, params.code);
    return after && after.usedAt !== null ? refuseReuse(db, after, now, clientInfo, onRevoked) : badGrant();
  }
  if (inserted.meta.changes !== 1) return refuse(db, row, 'provider session ended', now, clientInfo);
  // The user was read with the code; the provider session the batch found live is theirs (deleting an account deletes its sessions).
  const user = { id: row.userId, username: read.username };
  logEvent('oidc_code_exchanged', { userId: user.id, sessionId: session.id });
  return issueTokens(db, settings, { client, user, session, grant, nonce: row.nonce }, now);
}
