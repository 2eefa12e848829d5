/**
 * Passwordless sign-in on the provider's sign-in page (issue 21: "The provider's sign-in
 * page does the same once it exists"): "Sign in with a passkey" and the username field's
 * autofill, answered by POST /authorize/passkey-signin through the JSON route's own flow.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, staticAsset, useRealTime } from '../../helpers';
import { SIGNIN_PASSKEY_SCRIPT } from '../../../src/features/oidc/pages/scripts.generated';
import { passkeyUser, RP_ID } from '../passkeys/support';
import { freshIp, passwordlessSignin } from '../passkeys/signin-support';
import { passkeySignin, signinOffer } from './passwordless-support';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { authorizePath, Browser, type Client, exchangeCode, ISSUER, opEnv, PASSWORD, pkce, registerClient, stepFields, T0 } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();

async function tokensOf(client: Client, verifier: string, location: string | null) {
  const tokens = await exchangeCode(workerEnv, client, verifier, location);
  expect(tokens.status, tokens.text).toBe(200);
  return { id: decodeJwtPayload(tokens.json.id_token as string), access: decodeJwtPayload(tokens.json.access_token as string) };
}

const errorOf = (location: string | null) => Object.fromEntries(new URL(location!).searchParams);

describe('the provider’s sign-in page offers a passkey alone', () => {
  it('the page: autofill on the username field, "Sign in with a passkey" beside the password, discoverable options requiring UV, the script under the CSP nonce', async () => {
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0);
    const page = await new Browser(workerEnv).get(authorizePath(client.clientId, challenge));
    expect(page.status).toBe(200);
    expect(page.text).toContain('autocomplete="username webauthn"');
    expect(page.text).toMatch(/<form id="signin-passkey-form" method="post" action="\/authorize\/passkey-signin">/);
    expect(page.text).toContain('>Sign in with a passkey</button>');
    const offer = signinOffer(page.text);
    expect(offer.publicKey).not.toHaveProperty('allowCredentials');
    expect(offer.publicKey).toMatchObject({ userVerification: 'required', rpId: RP_ID });
    const nonce = /script-src 'nonce-([^']+)'/.exec(page.headers.get('Content-Security-Policy')!)![1]!;
    // The script is a file of the static assets (src/features/oidc/client/signin-passkey.ts), under the nonce.
    expect(page.text).toContain(`<script src="${SIGNIN_PASSKEY_SCRIPT.path}" integrity="${SIGNIN_PASSKEY_SCRIPT.integrity}" nonce="${nonce}"></script>`);
    expect((await staticAsset(SIGNIN_PASSKEY_SCRIPT.path)).text).toContain('mediation:"conditional"');
  });

  it('a device-bound passkey with UV: no username, no password; a code whose ID token says pop, mfa and phrh; the provider session then serves prompt=none', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { verifier, challenge } = await pkce();
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const page = await browser.get(authorizePath(client.clientId, challenge));
    const { answer } = await passkeySignin(browser, page, user.authenticator, user.id);
    expect(answer.status, answer.text.slice(0, 400)).toBe(303);
    expect(answer.location).toMatch(/^https:\/\/rp\.example\/cb\?/);
    const tokens = await tokensOf(client, verifier, answer.location);
    expect(tokens.id).toMatchObject({ sub: user.id, amr: ['pop', 'mfa'], acr: 'phrh', auth_time: T0 + 30, iss: ISSUER });
    expect(tokens.access).toMatchObject({ acr: 'phrh', amr: ['pop', 'mfa'] });
    // The passwordless sign-in's event, in the owner's log.
    const events = await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE user_id = ? AND type = 'passkey_signin'").bind(user.id).first<{ n: number }>();
    expect(events!.n).toBe(1);
    // Single sign-on from that provider session.
    setNow(T0 + 40);
    const sso = await browser.get(authorizePath(client.clientId, challenge, { prompt: 'none' }));
    expect(sso.status).toBe(303);
    expect((await tokensOf(client, verifier, sso.location)).id).toMatchObject({ acr: 'phrh', auth_time: T0 + 30 });
  });

  it('a synced passkey is phr: acr_values "phrh phr" gets phr, "phrh" alone is unmet', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const client = await registerClient(workerEnv, { firstParty: true });
    const { verifier, challenge } = await pkce();
    setNow(T0 + 30);
    let browser = new Browser(workerEnv);
    const done = await passkeySignin(browser, await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh phr' })), user.authenticator, user.id);
    expect((await tokensOf(client, verifier, done.answer.location)).id.acr).toBe('phr');
    browser = new Browser(workerEnv);
    const unmet = await passkeySignin(browser, await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh' })), user.authenticator, user.id);
    expect(errorOf(unmet.answer.location)).toMatchObject({ error: 'unmet_authentication_requirements', state: 'st-1' });
  });

  it('a third-party client: consent after the passkey, as after any sign-in', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: false });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const { answer } = await passkeySignin(browser, await browser.get(authorizePath(client.clientId, challenge)), user.authenticator, user.id);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('name="decision"');
  });
});

describe('what the passkey sign-in page refuses: the sign-in page again, with the reason, and no session', () => {
  it('attack: a security key tapped without its PIN (UV = 0) does not sign in alone', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const { answer } = await passkeySignin(browser, await browser.get(authorizePath(client.clientId, challenge)), user.authenticator, user.id, { flags: { uv: false } });
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/role="alert">That passkey was not accepted for signing in/);
    // A fresh challenge on the page for the next try, and no provider session.
    expect(signinOffer(answer.text).challengeId).not.toBe('');
    expect([...browser.jar.keys()].some((name) => name.includes('session'))).toBe(false);
    expect((await browser.get(authorizePath(client.clientId, challenge, { prompt: 'none' }))).location).toMatch(/error=login_required/);
  });

  it('attack: an assertion replayed to the page (the same challenge and response twice) is refused the second time', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const { fields, answer } = await passkeySignin(browser, await browser.get(authorizePath(client.clientId, challenge)), user.authenticator, user.id);
    expect(answer.status).toBe(303);
    const thief = new Browser(workerEnv);
    // The thief needs a ticket and CSRF token of their own browser, and the captured challenge and response.
    const theirs = await thief.get(authorizePath(client.clientId, challenge));
    const replay = await thief.post('/authorize/passkey-signin', { ...stepFields(theirs.text), challengeId: fields.challengeId, response: fields.response }, { 'Sec-Fetch-Site': 'same-origin', 'CF-Connecting-IP': freshIp() });
    expect(replay.status).toBe(200);
    expect(replay.text).toMatch(/role="alert">That passkey was not accepted/);
  });

  it('a user handle of another user, a garbled response, another site, a wrong CSRF token', async () => {
    const victim = await passkeyUser(T0);
    const attacker = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const page = await browser.get(authorizePath(client.clientId, challenge));
    const other = await passkeySignin(browser, page, attacker.authenticator, victim.id);
    expect(other.answer.text).toMatch(/role="alert">That passkey was not accepted/);
    const garbled = await browser.post('/authorize/passkey-signin', { ...stepFields(page.text), challengeId: signinOffer(page.text).challengeId, response: '{not json' });
    expect(garbled.status).toBe(200);
    expect(garbled.text).toMatch(/role="alert">No passkey was used/);
    const crossSite = await browser.post('/authorize/passkey-signin', { ...other.fields }, { 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const badCsrf = await browser.post('/authorize/passkey-signin', { ...other.fields, csrf: 'x'.repeat(43) });
    expect(badCsrf.status).toBe(403);
  });

  it('five refusals lock the credential: the page says to wait, and the password still works', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    let page = await browser.get(authorizePath(client.clientId, challenge));
    for (let i = 0; i < 5; i++) page = (await passkeySignin(browser, page, user.authenticator, user.id, { tamper: true })).answer;
    const locked = await passkeySignin(browser, page, user.authenticator, user.id);
    expect(locked.answer.text).toMatch(/role="alert">Too many attempts\. Try again in 30 seconds/);
    // The account is not locked: its password and second factor still sign in from the same page.
    const second = await browser.post('/authorize/password', { ...stepFields(locked.answer.text), username: user.username, password: PASSWORD });
    expect(second.status).toBe(200);
    expect(second.text).toContain('id="passkey-form"');
  });

  it('attack: sprayed assertions through the hosted step and the JSON route from one network share its one budget', async () => {
    // The story: a script takes one ticket and CSRF token from /authorize and sends made-up
    // credentials through /authorize/passkey-signin, half of them to /webauthn/signin/verify,
    // hoping each twin keeps a budget of its own. Both count in `pkip:<network>`: 20 lock it.
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const ip = freshIp();
    const browser = new Browser(workerEnv);
    let page = await browser.get(authorizePath(client.clientId, challenge));
    for (let i = 0; i < 10; i++) {
      const stranger = await SoftwareAuthenticator.create(-7);
      page = (await passkeySignin(browser, page, stranger, '0' + crypto.randomUUID().slice(1), {}, ip)).answer;
      expect(page.text).toMatch(/role="alert">That passkey was not accepted/);
      const json = await passwordlessSignin(stranger, '0' + crypto.randomUUID().slice(1), ip);
      expect(json.result.status).toBe(401);
    }
    expect((await passwordlessSignin(user.authenticator, user.id, ip)).result.status).toBe(429);
    const hosted = await passkeySignin(browser, page, user.authenticator, user.id, {}, ip);
    expect(hosted.answer.text).toMatch(/role="alert">Too many attempts/);
    // Another network is not locked.
    expect((await passkeySignin(browser, page, user.authenticator, user.id)).answer.status).toBe(303);
  });
});
