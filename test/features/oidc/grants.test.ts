import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, loginUser, setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, send, signIn, stepFields, T0, tokenRequest, type Client } from './support';

/** API.md, "Logout and revocation": GET /me/grants and DELETE /me/grants/:clientId. */

afterEach(useRealTime);

const workerEnv = opEnv();
let firstParty: Client;
let thirdParty: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  firstParty = await registerClient(workerEnv, { firstParty: true, name: 'Mail' });
  thirdParty = await registerClient(workerEnv, { name: 'Calendar' });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

async function exchange(client: Client, location: string | null) {
  const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(location), redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
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
    expect(text).toMatch(/["']\/me\/grants["']/);
    expect(text).toMatch(/["']\/me\/grants\/["']/);
    expect(text).toContain('Disconnect');
  });
});
