import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PAGE_SCRIPT_PATH } from '../../../src/http/page-assets.generated';
import { call, decodeJwtPayload, loginUser, setNow, staticAsset, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, type Client, enrolled, exchangeCode, opEnv, pkce, registerClient, send, signIn, stepFields, T0, tokenRequest } from './support';

/** API.md, "Logout and revocation": GET /me/grants and DELETE /me/grants/:clientId. */

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

const workerEnv = opEnv();
let firstParty: Client;
let thirdParty: Client;
let noRefresh: Client;
const BCL = 'https://news.example/backchannel';
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  firstParty = await registerClient(workerEnv, { firstParty: true, name: 'Mail' });
  thirdParty = await registerClient(workerEnv, { name: 'Calendar' });
  noRefresh = await registerClient(workerEnv, { name: 'News', backchannelLogoutUri: BCL });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

async function exchange(client: Client, location: string | null) {
  const tokens = await exchangeCode(workerEnv, client, verifier, location);
  expect(tokens.status, tokens.text).toBe(200);
  return tokens.json as { access_token: string; refresh_token?: string };
}

describe('connected apps', () => {
  it('lists the clients holding consent or a refresh token; DELETE revokes one’s consent and tokens (204), a second time or an unknown client 404', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('grants'));
    const browser = new Browser(workerEnv);
    expect((await send(workerEnv, '/me/grants', bearer(user.fullToken))).json).toEqual({ grants: [] });
    const mail = await exchange(firstParty, (await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30)).location);
    setNow(T0 + 40);
    const consent = await browser.get(authorizePath(thirdParty.clientId, challenge, { scope: 'openid offline_access' }));
    const calendar = await exchange(thirdParty, (await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' })).location);
    setNow(T0 + 50);
    const listed = await send(workerEnv, '/me/grants', bearer(user.fullToken));
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({
      grants: [
        { clientId: thirdParty.clientId, name: 'Calendar', scopes: ['openid', 'offline_access'], createdAt: T0 + 40, lastUsedAt: T0 + 40 },
        { clientId: firstParty.clientId, name: 'Mail', scopes: ['openid', 'profile'], createdAt: T0 + 30, lastUsedAt: T0 + 30 },
      ],
    });
    const revoked = await send(workerEnv, `/me/grants/${thirdParty.clientId}`, { method: 'DELETE', ...bearer(user.fullToken) });
    expect(revoked.status).toBe(204);
    // Its tokens are dead, its consent is forgotten (the page asks again), the other client is untouched.
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: calendar.refresh_token! }, basic(thirdParty))).json.error).toBe('invalid_grant');
    expect((await send(workerEnv, '/userinfo', bearer(calendar.access_token))).status).toBe(401);
    expect((await browser.get(authorizePath(thirdParty.clientId, challenge, { scope: 'openid offline_access' }))).text).toMatch(/name="decision" value="allow"/);
    expect((await send(workerEnv, '/userinfo', bearer(mail.access_token))).status).toBe(200);
    expect(((await send(workerEnv, '/me/grants', bearer(user.fullToken))).json.grants as { clientId: string }[]).map((g) => g.clientId)).toEqual([firstParty.clientId]);
    const events = await env.DB.prepare("SELECT reason FROM security_events WHERE user_id = ? AND type = 'oidc_grant_revoked'").bind(user.id).all();
    expect(events.results).toEqual([{ reason: `client ${thirdParty.clientId}` }]);
    expect((await send(workerEnv, `/me/grants/${thirdParty.clientId}`, { method: 'DELETE', ...bearer(user.fullToken) })).status).toBe(404);
    expect((await send(workerEnv, '/me/grants/c_nosuchclient', { method: 'DELETE', ...bearer(user.fullToken) })).json.error).toBe('not_found');
  });

  it('another person’s grant is 404 and stays; a password-only token is refused', async () => {
    const owner = await enrolled(workerEnv, T0, uniqueName('owner'));
    const intruder = await enrolled(workerEnv, T0, uniqueName('intruder'));
    const tokens = await exchange(firstParty, (await signIn(new Browser(workerEnv), owner, authorizePath(firstParty.clientId, challenge), T0 + 30)).location);
    setNow(T0 + 40);
    // Story: someone signed in with their own account tries to disconnect another person's app by its public client id.
    expect((await send(workerEnv, `/me/grants/${firstParty.clientId}`, { method: 'DELETE', ...bearer(intruder.fullToken) })).status).toBe(404);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, basic(firstParty))).status).toBe(200);
    const { token: passwordOnly } = await loginUser(intruder.username);
    expect((await send(workerEnv, '/me/grants', bearer(passwordOnly))).status).toBe(403);
  });

  it('the account page has a "Connected apps" section, hidden until its list loads, whose script lists and disconnects through /me/grants', async () => {
    const { text } = await call('/');
    expect(text).toMatch(/<section id="account-apps" aria-labelledby="h-apps" hidden>\s*<h2 id="h-apps">Connected apps<\/h2>/);
    expect(text).toMatch(/<ul id="apps-list" class="cards" aria-labelledby="h-apps"><\/ul>/);
    // The page's script is a static asset (its <script src>), not inline.
    expect(text).toContain(`src="${PAGE_SCRIPT_PATH}"`);
    const script = (await staticAsset(PAGE_SCRIPT_PATH)).text;
    expect(script).toMatch(/["']\/me\/grants["']/);
    expect(script).toMatch(/["']\/me\/grants\/["']/);
    expect(script).toContain('Disconnect');
  });

  it('lists every client holding a live token, not only a consent or a refresh token; DELETE revokes it and the client is told by back-channel logout', async () => {
    // Attack story: the list was built from the rows that usually go with tokens (a consent, a
    // refresh token), not from the tokens. An app holding only a live access token, with no
    // consent row behind it (here removed by hand, as a consent's retention or a support
    // clean-up would), was missing, so the person could not disconnect it (404) while the
    // token still worked, and the app was never told to sign them out.
    const user = await enrolled(workerEnv, T0, uniqueName('grants-at'));
    const browser = new Browser(workerEnv);
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 40);
    const consent = await browser.get(authorizePath(noRefresh.clientId, challenge, { scope: 'openid' }));
    const news = await exchange(noRefresh, (await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' })).location);
    expect(news.refresh_token).toBeUndefined();
    const listedOf = async () => ((await send(workerEnv, '/me/grants', bearer(user.fullToken))).json.grants as { clientId: string; lastUsedAt: number | null }[]).filter((g) => g.clientId === noRefresh.clientId);
    setNow(T0 + 50);
    // Its tokens were used at the exchange, not "a consent alone".
    expect(await listedOf()).toEqual([{ clientId: noRefresh.clientId, name: 'News', scopes: ['openid'], createdAt: T0 + 40, lastUsedAt: T0 + 40 }]);
    await env.DB.prepare('DELETE FROM oidc_consents WHERE user_id = ? AND client_id = ?').bind(user.id, noRefresh.clientId).run();
    expect(await listedOf()).toHaveLength(1);
    const posts: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      posts.push(`${input instanceof Request ? input.url : String(input)} ${new URLSearchParams(String(init?.body)).get('logout_token')}`);
      return new Response(null, { status: 200 });
    });
    const revoked = await send(workerEnv, `/me/grants/${noRefresh.clientId}`, { method: 'DELETE', ...bearer(user.fullToken) });
    expect(revoked.status).toBe(204);
    expect((await send(workerEnv, '/userinfo', bearer(news.access_token))).status).toBe(401);
    expect(posts).toHaveLength(1);
    const [url, token] = posts[0]!.split(' ');
    expect(url).toBe(BCL);
    expect(decodeJwtPayload(token!)).toMatchObject({ aud: noRefresh.clientId, sub: user.id });
    expect(await listedOf()).toEqual([]);
  });

  it('an access token past its expiry, without a refresh token or consent, is no longer a connected app', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('grants-exp'));
    const browser = new Browser(workerEnv);
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 40);
    const consent = await browser.get(authorizePath(noRefresh.clientId, challenge, { scope: 'openid' }));
    await exchange(noRefresh, (await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' })).location);
    await env.DB.prepare('DELETE FROM oidc_consents WHERE user_id = ? AND client_id = ?').bind(user.id, noRefresh.clientId).run();
    // The suite's access tokens live 900 s (vitest.config.ts); the person's own token is renewed to ask.
    setNow(T0 + 40 + 899);
    const renewed = await send(workerEnv, '/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: user.refreshToken }) });
    expect(renewed.status, renewed.text).toBe(200);
    const token = renewed.json.token as string;
    const fresh = (await send(workerEnv, '/me/grants', bearer(token))).json.grants as { clientId: string }[];
    expect(fresh.map((g) => g.clientId)).toContain(noRefresh.clientId);
    setNow(T0 + 40 + 900);
    const later = await send(workerEnv, '/me/grants', bearer(token));
    expect(later.status).toBe(200);
    expect((later.json.grants as { clientId: string }[]).map((g) => g.clientId)).not.toContain(noRefresh.clientId);
  });
});
