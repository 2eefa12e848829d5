import { eq, sql, type SQL } from 'drizzle-orm';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomBytes } from '../../crypto/random';
import type { Db } from '../../db/client';
import { insertIf } from '../../db/guarded-insert';
import { sessions } from '../../db/schema';
import { markShard, shardDigitOf } from '../../db/shard-ids';
import { CODE_TTL_SECONDS, type Scope } from './config';
import { oidcCodes, type OidcCodeRow } from './tables';
import type { AuthorizationRequest } from './ticket';

/**
 * Authorization codes: 256 random bits whose first four name the user's
 * shard (as reset tokens do: src/db/shard-ids.ts), stored only as SHA-256.
 * Bound to the client, the redirect URI, the PKCE challenge, the nonce and
 * the provider session; 60 s; single use (src/features/oidc/exchange.ts).
 */

const encoder = new TextEncoder();

export async function codeHashOf(code: string): Promise<string> {
  return encodeBase64urlNoPadding(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(code))));
}

/**
 * Writes the code only while the provider session is live and full when the
 * statement runs: a session ended a moment ago, or one that never proved a
 * second factor, yields no code (null). `clientGuard`: the client still as
 * the caller saw it (grant-flow.ts, `clientGuard`).
 */
export async function issueCode(
  db: Db,
  request: AuthorizationRequest,
  grant: CodeGrant,
  now: number,
  clientGuard: SQL = sql`1`,
): Promise<string | null> {
  const { code, statement } = await codeInsert(db, request, grant, now, clientGuard);
  const result = await statement.run();
  return result.meta.changes === 1 ? code : null;
}

export interface CodeGrant {
  userId: string;
  providerSessionId: string;
  scopes: Scope[];
  offline: boolean;
  acr: string;
}

/** issueCode's new code and its guarded INSERT, unexecuted (`guard` joins the provider session's). */
export async function codeInsert(db: Db, request: AuthorizationRequest, grant: CodeGrant, now: number, guard: SQL) {
  const { code, row } = await newCode(request, grant, now);
  return { code, statement: codeRowInsert(db, row, guard) };
}

/** A new code and the row that stores it. */
export async function newCode(request: AuthorizationRequest, grant: CodeGrant, now: number) {
  const code = encodeBase64urlNoPadding(markShard(randomBytes(32), shardDigitOf(grant.providerSessionId)));
  const row = {
    codeHash: await codeHashOf(code),
    clientId: request.clientId,
    userId: grant.userId,
    providerSessionId: grant.providerSessionId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    scope: grant.scopes.join(' '),
    offline: grant.offline,
    createdAt: now,
    expiresAt: now + CODE_TTL_SECONDS,
    usedAt: null,
    sessionId: null,
    acr: grant.acr,
  };
  return { code, row };
}

/** The code's INSERT, only while its provider session is live and full when the statement runs, and `guard` holds. */
export function codeRowInsert(db: Db, row: OidcCodeRow, guard: SQL) {
  const now = row.createdAt;
  const providerLive = sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${row.providerSessionId} AND ${sessions.authorized} = 1 AND ${sessions.authTime} IS NOT NULL AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${now})`;
  return insertIf(db, oidcCodes, row, sql`${providerLive} AND ${guard}`);
}

export async function findCode(db: Db, code: string) {
  const [row] = await db.select().from(oidcCodes).where(eq(oidcCodes.codeHash, await codeHashOf(code))).limit(1);
  return row ?? null;
}

/**
 * A spent or expired code is kept an hour past its expiry, so a late second
 * exchange is still recognised as a reuse and revokes what the first issued;
 * then the hourly cleanup deletes it (src/scheduled/steps.ts).
 */
export const CODE_KEPT_AFTER_EXPIRY_SECONDS = 3600;

export function expiredCodesCondition(now: number) {
  return sql`${oidcCodes.expiresAt} <= ${now - CODE_KEPT_AFTER_EXPIRY_SECONDS}`;
}
