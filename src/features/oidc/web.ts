import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomBytes } from '../../crypto/random';
import { primaryDb } from '../../db/shards';
import type { AppEnv } from '../../http/app-env';
import { logEvent } from '../../core/log';
import { idShardDb } from '../../http/middleware/shard';
import { redirectUriRegistered, findClient, refOf, type ClientRef } from './clients';
import { FLOW_COOKIE, issuerOf, LOGIN_COOKIE, PROVIDER_COOKIE, TICKET_TTL_SECONDS } from './config';
import { paramsOf, redirectBack, type Params } from './authorize';
import { errorContent } from './pages/enroll';
import { contentSecurityPolicy, newNonce, page, type Markup } from './pages/layout';
import type { HostedScript } from './pages/scripts.generated';
import type { StepContext } from './pages/sign-in';
import { liveProviderSession, providerCookieValue, sessionIdOfCookie, type ProviderSession } from './provider-session';
import { csrfTokenMatches, csrfTokenOf, readTicket, type AuthorizationRequest } from './ticket';

/** What the hosted pages share: rendering under the CSP, the cookies, the guard of every POST. */

type C = Context<AppEnv>;

/**
 * The client origin a page's forms may end up at (a step's POST answers with
 * a 303 to the redirect URI, and browsers hold that redirect to the page's
 * form-action), noted by stepContext for the response of this request.
 */
const formTargets = new WeakMap<Request, string>();

export function render(c: C, title: string, body: Markup, options: { alert?: string | null; status?: 200 | 400 | 403; script?: HostedScript } = {}): Response | Promise<Response> {
  const nonce = newNonce();
  const target = formTargets.get(c.req.raw);
  const targets = target ? [target] : [];
  c.header('Content-Security-Policy', contentSecurityPolicy(nonce, targets));
  c.header('Referrer-Policy', 'no-referrer');
  return c.html(page(nonce, title, body, options.alert, options.script), options.status ?? 200);
}

export function errorPage(c: C, reason: string, status: 400 | 403 = 400) {
  return render(c, 'Sign-in cannot continue', errorContent(reason), { status });
}

const cookieOptions = (maxAge: number) => ({ httpOnly: true, secure: true, sameSite: 'Lax' as const, path: '/', maxAge });

/** The browser's random binding for CSRF tokens, made when first needed. */
export function flowCookie(c: C): string {
  const existing = getCookie(c, FLOW_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const value = encodeBase64urlNoPadding(randomBytes(32));
  setCookie(c, FLOW_COOKIE, value, cookieOptions(TICKET_TTL_SECONDS));
  return value;
}

/** A page whose form may end in a redirect to `uri` (its origin joins the CSP's form-action). */
export function allowFormTarget(c: C, uri: string) {
  formTargets.set(c.req.raw, new URL(uri).origin);
}

export async function stepContext(c: C, client: Pick<ClientRef, 'name'>, ticket: string, redirectUri: string): Promise<StepContext> {
  formTargets.set(c.req.raw, new URL(redirectUri).origin);
  return { ticket, csrf: await csrfTokenOf(c.get('settings').oidcKey, flowCookie(c), ticket), clientName: client.name };
}

export function setLoginCookie(c: C, token: string, maxAge: number) {
  setCookie(c, LOGIN_COOKIE, token, cookieOptions(maxAge));
}

export function loginCookie(c: C): string | undefined {
  return getCookie(c, LOGIN_COOKIE);
}

export async function setProviderCookie(c: C, sessionId: string) {
  const settings = c.get('settings');
  setCookie(c, PROVIDER_COOKIE, await providerCookieValue(settings.oidcKey, sessionId), cookieOptions(settings.sessionMaxSeconds));
  deleteCookie(c, LOGIN_COOKIE, { path: '/', secure: true });
}

/** The browser's live provider session, from its cookie; with `prompt=login`, only one proven since the request. */
export async function providerSessionOf(c: C, now: number, request?: AuthorizationRequest): Promise<ProviderSession | null> {
  const settings = c.get('settings');
  const sessionId = await sessionIdOfCookie(settings.oidcKey, getCookie(c, PROVIDER_COOKIE));
  const db = sessionId ? idShardDb(c, sessionId) : null;
  if (!sessionId || !db) return null;
  const found = await liveProviderSession(db, sessionId, now, settings.sessionIdleSeconds);
  if (found && request?.authAfter != null && found.session.authTime! < request.authAfter) return null;
  return found;
}

export function redirectToClient(c: C, request: AuthorizationRequest, fields: Record<string, string | null>) {
  return c.redirect(redirectBack(request.redirectUri, issuerOf(c), { ...fields, state: request.state }), 303);
}

/** The parameters of a POSTed form (or the query of a GET), a repeated one marked. */
export async function formParams(c: C): Promise<Params> {
  if (c.req.method === 'GET') return paramsOf(new URL(c.req.url).searchParams);
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return new Map();
  const bytes = await c.req.arrayBuffer();
  return bytes.byteLength > 16 * 1024 ? new Map() : paramsOf(new URLSearchParams(new TextDecoder().decode(bytes)));
}

/**
 * A POST from another site is refused (403) before anything else: the Fetch
 * Metadata `Sec-Fetch-Site`, else `Origin`. A client without either (not a
 * browser) still needs the CSRF token, which only this browser's pages hold.
 */
export function crossSite(c: C): boolean {
  const site = c.req.header('Sec-Fetch-Site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = c.req.header('Origin');
  return origin !== undefined && origin !== new URL(issuerOf(c)).origin;
}

export const NO_LONGER_REGISTERED = 'The application that sent you here is no longer registered.';

export interface Step {
  form: Params;
  request: AuthorizationRequest;
  client: ClientRef;
  step: StepContext;
}

/**
 * Every step's POST: same site, a live ticket, its CSRF token. The client is
 * the ticket's copy, read from no registry: a step that only shows the next
 * page needs no more, and whatever issues a code or records a consent checks
 * the copy against the registry in its own statement (grant-flow.ts). A
 * ticket without a copy (made before tickets carried one) reads the registry.
 */
export async function readStep(c: C, now: number): Promise<Step | Response> {
  if (crossSite(c)) {
    logEvent('oidc_token_refused', { reason: 'cross_site_post' });
    return errorPage(c, 'This form was sent from another site.', 403);
  }
  const form = await formParams(c);
  const key = c.get('settings').oidcKey;
  const ticket = form.get('ticket');
  const read = ticket ? await readTicket(key, ticket, now) : null;
  if (!ticket || !read) return errorPage(c, 'This sign-in request has expired or is not valid. Start again from the application.');
  if (!(await csrfTokenMatches(key, form.get('csrf'), getCookie(c, FLOW_COOKIE), ticket))) {
    logEvent('oidc_token_refused', { reason: 'csrf' });
    return errorPage(c, 'This form is not valid in this browser (its security token does not match). Start again from the application.', 403);
  }
  const { request } = read;
  let client = read.client;
  if (!client) {
    const row = await findClient(primaryDb(c.env), request.clientId);
    client = row && redirectUriRegistered(row, request.redirectUri) ? refOf(row, request.redirectUri) : null;
  }
  if (!client) return errorPage(c, NO_LONGER_REGISTERED);
  return { form, request, client, step: await stepContext(c, client, ticket, request.redirectUri) };
}
