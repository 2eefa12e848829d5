import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import { primaryDb } from '../../db/shards';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import type { AppEnv } from '../../http/app-env';
import { idShardDb } from '../../http/middleware/shard';
import { deliver, deliverFor, owedBeforeDeletion } from './backchannel-store';
import type { OidcGrantRow } from './tables';

/**
 * Back-Channel Logout 1.0 (API.md, "Logout and revocation"), the request
 * side. Sessions end in core and in other features, which cannot import this
 * one; so nothing there calls us. Instead, after a request that may have
 * ended sessions, a delivery finds them by a query (backchannel-store.ts) and
 * runs in `ctx.waitUntil`: the request that ended the session is never
 * delayed. What a request misses (expiry, an evicted isolate, a client down)
 * the hourly sweep finds with the same query.
 */

export { BACKCHANNEL_EVENT } from './backchannel-send';

/** Runs `work` after the response (never awaited by the request); a failure is logged. */
function runAfter(c: Context<AppEnv>, userId: string, work: () => Promise<void>): void {
  const done = work().catch((error: unknown) =>
    logEvent('oidc_backchannel_logout', { userId, reason: `delivery failed: ${error instanceof Error ? error.name : 'error'}` }),
  );
  let ctx: ExecutionContext | null = null;
  try {
    ctx = c.executionCtx as ExecutionContext;
  } catch {
    // No execution context (an in-process call without one): the work still runs, unawaited.
  }
  if (ctx) ctx.waitUntil(done);
  else void done;
}

/** Schedules delivery for `userId`'s ended client sessions after this request. */
export function scheduleBackchannelLogout(c: Context<AppEnv>, userId: string): void {
  const settings = c.get('settings');
  const db = idShardDb(c, userId);
  if (!settings.issuerUrl || !db) return;
  const now = nowSeconds();
  runAfter(c, userId, () => deliverFor(db, primaryDb(c.env), settings, userId, now));
}

/**
 * Mounted app-wide by src/index.ts: after a successful request that can end
 * sessions, deliver for the person whose sessions those were: a signed-in
 * caller's (any DELETE: /sessions/:id, /me/grants/:clientId, a passkey; /logout,
 * /password, /disable-otp; a re-enrollment confirmed by /otp-verify and a first
 * passkey enrollment, which end every other session), the user the support
 * API's MFA reset names, or the one a route names in `sessionsEndedFor` (a
 * redeemed reset link). Reads only what the request set.
 *
 * Account deletion takes the client sessions' rows with it (they cascade from
 * the sessions), so no later query can find them: a route that deletes an
 * account calls `beforeAccountDeletion` (set here) before its batch; the
 * rows owed a logout are read then and, once the deletion succeeded,
 * delivered from memory.
 */
const SESSION_ENDING_POSTS = new Set(['/logout', '/password', '/disable-otp', '/otp-verify', '/webauthn/register/verify']);

export const backchannelLogoutAfter = createMiddleware<AppEnv>(async (c, next) => {
  const doomed: { userId?: string; rows?: OidcGrantRow[] } = {};
  if (c.req.method !== 'GET') {
    c.set('beforeAccountDeletion', async (userId: string) => {
      const db = idShardDb(c, userId);
      if (!c.get('settings').issuerUrl || !db) return;
      try {
        doomed.rows = await owedBeforeDeletion(db, primaryDb(c.env), userId, nowSeconds());
        doomed.userId = userId;
      } catch (error) {
        // Best effort: the deletion itself goes on.
        logEvent('oidc_backchannel_logout', { userId, reason: `not collected before deletion: ${error instanceof Error ? error.name : 'error'}` });
      }
    });
  }
  await next();
  if (c.res.status >= 400 || c.req.method === 'GET') return;
  if (doomed.userId && doomed.rows) {
    const { userId, rows } = doomed;
    const db = idShardDb(c, userId)!;
    const now = nowSeconds();
    return runAfter(c, userId, () => deliver(db, primaryDb(c.env), c.get('settings'), rows, null, now));
  }
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
