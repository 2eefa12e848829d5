import type { Context } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { AppEnv } from '../../http/app-env';
import { clientInfo } from '../../http/middleware/client-info';
import { ipFloodFilter } from '../../http/middleware/rate-limit';
import { ERROR_SCHEMA_REF } from '../../http/openapi/components';
import { idShardDb } from '../../http/middleware/shard';
import { routeGroup } from '../../http/openapi/declare';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import { primaryDb } from '../../db/shards';
import { scheduleBackchannelLogout } from './backchannel';
import { findClient } from './clients';
import { FLOW_COOKIE, PROVIDER_COOKIE } from './config';
import { endProviderSession, makeLogoutTicket, postLogoutUriRegistered, readLogoutTicket, returnAddress, unverifiedHint, verifyIdTokenHint } from './end-session';
import { hidden } from './pages/layout';
import type { ProviderSession } from './provider-session';
import { protocolRoute } from './route-doc';
import { csrfTokenMatches, csrfTokenOf } from './ticket';
import { allowFormTarget, crossSite, errorPage, flowCookie, formParams, providerSessionOf, render } from './web';

type C = Context<AppEnv>;

/** Ends this browser's provider session (its clients' tokens with it), forgets the cookie, and goes back or says so. */
async function signOut(c: C, session: ProviderSession | null, target: string | null, state: string | null, now: number) {
  if (session) {
    await endProviderSession(idShardDb(c, session.session.id)!, session.session.id, session.user.id, now, clientInfo(c));
    logEvent('oidc_end_session', { userId: session.user.id, sessionId: session.session.id });
    scheduleBackchannelLogout(c, session.user.id);
  }
  deleteCookie(c, PROVIDER_COOKIE, { path: '/', secure: true });
  if (target) return c.redirect(returnAddress(target, state), 303);
  return render(c, 'Signed out', html`<p>You are signed out of this service. You can close this window.</p>`);
}

/**
 * GET and POST /end-session (OIDC RP-Initiated Logout 1.0). The return
 * address is followed only when it is registered for the client named by
 * the hint's `aud` or by `client_id`. Without a hint we signed for this very
 * browser session, the person confirms first (a POST with the CSRF token of
 * this browser), so a link on another site cannot sign anyone out.
 */
async function endSession(c: C): Promise<Response> {
  const now = nowSeconds();
  const params = await formParams(c);
  if (c.req.method === 'POST' && params.has('confirm')) return confirmed(c, now);
  for (const [name, value] of params) if (value === null) return errorPage(c, `The sign-out request repeats ${name.slice(0, 40)}.`);
  const settings = c.get('settings');
  const rawHint = params.get('id_token_hint');
  // Only a browser with a live provider session has anything to end, and for it the hint's
  // signature decides whether to ask first. Without one the hint only names the client, as
  // client_id may (a return address is still followed only when registered for it), so an
  // anonymous request never reads a signing key.
  const session = await providerSessionOf(c, now);
  const hint = rawHint ? (session ? await verifyIdTokenHint(primaryDb(c.env), settings, rawHint, now) : unverifiedHint(rawHint)) : null;
  const clientId = params.get('client_id');
  if (hint && clientId && hint.clientId !== clientId) return errorPage(c, 'The sign-out request names two different applications.');
  const client = hint || clientId ? await findClient(primaryDb(c.env), (hint?.clientId ?? clientId)!) : null;
  const uri = params.get('post_logout_redirect_uri');
  if (uri && !(client && postLogoutUriRegistered(client, uri))) logEvent('oidc_end_session', { reason: 'unregistered_post_logout_redirect_uri' });
  const target = uri && client && postLogoutUriRegistered(client, uri) ? uri : null;
  const state = params.get('state') ?? null;
  if (!session || (hint && hint.sid === session.session.id && hint.sub === session.user.id)) return signOut(c, session, target, state, now);
  const ticket = await makeLogoutTicket(settings.oidcKey, { uri: target, state }, now);
  const csrf = await csrfTokenOf(settings.oidcKey, flowCookie(c), ticket);
  if (target) allowFormTarget(c, target);
  return render(
    c,
    'Sign out?',
    html`<p>${client ? `${client.name} asks to sign you out` : 'Sign out'} of this service, here and in every application this browser signed in to.</p>
      <form method="post" action="/end-session">${hidden(ticket, csrf)}<input type="hidden" name="confirm" value="1" /><button type="submit">Sign out</button></form>`,
  );
}

async function confirmed(c: C, now: number): Promise<Response> {
  if (crossSite(c)) return errorPage(c, 'This form was sent from another site.', 403);
  const form = await formParams(c);
  const key = c.get('settings').oidcKey;
  const ticket = form.get('ticket');
  const request = await readLogoutTicket(key, ticket, now);
  if (!ticket || !request) return errorPage(c, 'This sign-out request has expired. Start again from the application.');
  if (!(await csrfTokenMatches(key, form.get('csrf'), getCookie(c, FLOW_COOKIE), ticket))) {
    logEvent('oidc_token_refused', { reason: 'csrf' });
    return errorPage(c, 'This form is not valid in this browser (its security token does not match).', 403);
  }
  return signOut(c, await providerSessionOf(c, now), request.uri, request.state, now);
}

const html200 = { 'text/html': { schema: { type: 'string' as const } } };
export const endSessionRoutes = routeGroup();
for (const method of ['get', 'post'] as const) {
  protocolRoute(
    endSessionRoutes,
    {
      method,
      path: '/end-session',
      operationId: `${method}EndSession`,
      summary: 'OpenID Connect RP-initiated logout',
      description:
        '`id_token_hint` (an ID token we issued; expired is accepted), `post_logout_redirect_uri` (followed only when registered for the client), `state` (echoed), `client_id`. Ends this browser’s provider session and every client session hanging off it. Without a valid hint for this browser session, a page asks to confirm (a POST with `ticket`, `csrf` and `confirm`). Behind the per-IP flood filter.',
      responses: {
        200: { description: 'The confirmation or signed-out page.', content: html200 },
        303: { description: 'Back to the registered post-logout redirect URI, with `state`.' },
        400: { description: 'A malformed request.', content: html200 },
        403: { description: 'A confirmation from another site, or a bad CSRF token.', content: html200 },
        429: {
          description: '`too_many_requests`: the per-IP flood filter (as `/login`), before any work.',
          headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } },
          content: { 'application/json': { schema: { $ref: ERROR_SCHEMA_REF } } },
        },
      },
    },
    endSession,
    // Public and anonymous: a flood is refused before it reads a cookie, a client or a key.
    [ipFloodFilter],
  );
}
