import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';
import { primaryDb, signingKeysDb } from '../../db/shards';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import type { AppEnv } from '../../http/app-env';
import { idShardDb } from '../../http/middleware/shard';
import type { Settings } from '../../settings';
import { currentRsaSigningKey, RSA_ALG } from '../../tokens/rsa-signing-keys';
import { SIGNING_ALG } from '../../tokens/signing-key-crypto';
import { currentSigningKey } from '../../tokens/signing-keys';
import { oidcClients, oidcGrants } from './tables';

/**
 * Back-Channel Logout 1.0 (API.md, "Logout and revocation"). Sessions end in
 * core and in other features, which cannot import this one; so nothing there
 * calls us. Instead, after a request that may have ended sessions, the
 * delivery finds them by a query: this person's client sessions that ended
 * (their own row or their provider session revoked) and were never
 * notified, claimed once by a compare-and-swap on `logout_sent_at`, so two
 * requests never notify twice. It runs in `ctx.waitUntil`: the request that
 * ended the session is never delayed, and a slow client gets bounded retries.
 */

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Delays before the second and third attempt (a network blip, a client restarting), then we give up: best effort. */
const RETRY_DELAYS_MS = [200, 1000];
const ATTEMPT_TIMEOUT_MS = 5000;

async function logoutToken(db: Db, settings: Settings, client: { id: string; idTokenAlg: string }, userId: string, sid: string, now: number): Promise<string> {
  const keys = signingKeysDb(db);
  const ed = await currentSigningKey(keys, settings, now);
  const signer = client.idTokenAlg === 'EdDSA' ? { alg: SIGNING_ALG, kid: ed.kid, key: ed.key } : { alg: RSA_ALG, ...(await currentRsaSigningKey(keys, settings, now)) };
  return new SignJWT({ sid, events: { [BACKCHANNEL_EVENT]: {} } })
    .setProtectedHeader({ alg: signer.alg, typ: 'logout+jwt', kid: signer.kid })
    .setIssuer(settings.issuerUrl!)
    .setAudience(client.id)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
}

async function post(uri: string, token: string, clientId: string, userId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let outcome: string;
    try {
      const response = await fetch(uri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Cache-Control': 'no-store' },
        body: new URLSearchParams({ logout_token: token }),
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await response.body?.cancel();
      outcome = `status ${response.status}`;
      // §2.8: 200 (or 204) is success; a 400 is the client refusing this token, which a retry will not change.
      if (response.ok || response.status === 400) {
        logEvent('oidc_backchannel_logout', { userId, reason: `client ${clientId}: attempt ${attempt}, ${outcome}` });
        return;
      }
    } catch (error) {
      outcome = error instanceof Error ? error.name : 'error';
    }
    logEvent('oidc_backchannel_logout', { userId, reason: `client ${clientId}: attempt ${attempt} failed, ${outcome}` });
    const delay = RETRY_DELAYS_MS[attempt - 1];
    if (delay === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Notifies each client with a backchannelLogoutUri of this person's ended, un-notified client sessions: one token per (client, provider session). */
export async function deliverBackchannelLogouts(db: Db, primary: Db, settings: Settings, userId: string, now: number): Promise<void> {
  const provider = sql`(SELECT p.revoked_at FROM sessions p WHERE p.id = ${oidcGrants.providerSessionId})`;
  const ended = await db
    .select({ sessionId: oidcGrants.sessionId })
    .from(oidcGrants)
    .innerJoin(sessions, eq(sessions.id, oidcGrants.sessionId))
    .where(and(eq(oidcGrants.userId, userId), isNull(oidcGrants.logoutSentAt), or(sql`${sessions.revokedAt} IS NOT NULL`, sql`${provider} IS NOT NULL`)))
    .limit(100);
  if (ended.length === 0) return;
  const claimed = await db
    .update(oidcGrants)
    .set({ logoutSentAt: now })
    .where(and(inArray(oidcGrants.sessionId, ended.map((row) => row.sessionId)), isNull(oidcGrants.logoutSentAt)))
    .returning({ clientId: oidcGrants.clientId, providerSessionId: oidcGrants.providerSessionId });
  const targets = new Map(claimed.map((row) => [`${row.clientId} ${row.providerSessionId}`, row]));
  if (targets.size === 0) return;
  const clients = await primary.select().from(oidcClients).where(inArray(oidcClients.id, [...new Set(claimed.map((row) => row.clientId))]));
  const uris = new Map(clients.filter((client) => client.backchannelLogoutUri).map((client) => [client.id, client]));
  await Promise.all(
    [...targets.values()].map(async ({ clientId, providerSessionId }) => {
      const client = uris.get(clientId);
      if (!client) return;
      const token = await logoutToken(db, settings, client, userId, providerSessionId, now);
      await post(client.backchannelLogoutUri!, token, clientId, userId);
    }),
  );
}

/** Schedules delivery for `userId` after this request (never awaited by it). */
export function scheduleBackchannelLogout(c: Context<AppEnv>, userId: string): void {
  const settings = c.get('settings');
  const db = idShardDb(c, userId);
  if (!settings.issuerUrl || !db) return;
  const work = deliverBackchannelLogouts(db, primaryDb(c.env), settings, userId, nowSeconds()).catch((error: unknown) =>
    logEvent('oidc_backchannel_logout', { userId, reason: `delivery failed: ${error instanceof Error ? error.name : 'error'}` }),
  );
  let ctx: ExecutionContext | null = null;
  try {
    ctx = c.executionCtx as ExecutionContext;
  } catch {
    // No execution context (an in-process call without one): the work still runs, unawaited.
  }
  if (ctx) ctx.waitUntil(work);
  else void work;
}

/**
 * Mounted app-wide by src/index.ts: after a successful request that can end
 * sessions, deliver for the person whose sessions those were: a signed-in
 * caller's (any DELETE: /sessions/:id, /me/grants/:clientId, a passkey; /logout,
 * /password, /disable-otp; a re-enrollment confirmed by /otp-verify and a first
 * passkey enrollment, which end every other session), the user the support
 * API's MFA reset names, or the one a route names in `sessionsEndedFor` (a
 * redeemed reset link). Reads only what the request set.
 */
const SESSION_ENDING_POSTS = new Set(['/logout', '/password', '/disable-otp', '/otp-verify', '/webauthn/register/verify']);

export const backchannelLogoutAfter = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.status >= 400 || c.req.method === 'GET') return;
  const named = c.get('sessionsEndedFor');
  if (named) return scheduleBackchannelLogout(c, named);
  // The support API ends a person's sessions by naming them in the path.
  const supportAction = /^\/admin\/users\/([0-9a-f-]{36})\/reset-mfa$/.exec(c.req.path);
  if (supportAction) return scheduleBackchannelLogout(c, supportAction[1]!);
  if (!(c.req.method === 'DELETE' || SESSION_ENDING_POSTS.has(c.req.path))) return;
  const auth = c.get('auth') as { user?: { id: string } } | undefined;
  // Routes that read the session themselves (/otp-verify) set only the verified claims.
  const claims = c.get('claims') as { sub?: string } | undefined;
  const userId = auth?.user?.id ?? claims?.sub;
  if (userId) scheduleBackchannelLogout(c, userId);
});
