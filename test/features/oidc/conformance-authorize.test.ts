import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { Browser, enrolled, registerClient, send, T0, type Client, type Enrolled } from './support';
import {
  authorization,
  callback,
  completeSignIn,
  exchange,
  expectAuthorizationError,
  expectTokenResponse,
  expectUserinfo,
  happyFlow,
  randomValue,
  verifyIdToken,
  workerEnv,
} from './conformance-support';

/**
 * The OpenID conformance suite's Basic OP plan, authorization request side
 * (one test per module, named after it; docs/openid-provider.md,
 * "Conformance"): parameters the provider must accept or ignore, prompt,
 * max_age and the hints, each against a live or an absent provider session.
 */

afterEach(useRealTime);

let client: Client;
let user: Enrolled;
/** Each sign-in uses the next TOTP step, so no code is a replay. */
let clock = T0;
const next = () => (clock += 30);

beforeAll(async () => {
  setNow(T0);
  user = await enrolled(workerEnv, T0, uniqueName('ca'));
  client = await registerClient(workerEnv, { firstParty: true });
  useRealTime();
}, 60_000);

/** A second authorization in the same browser, answered without a page (AbstractOIDCCSameAuthTwiceServerTest). */
async function silently(browser: Browser, at: number, extra: Record<string, string | undefined>) {
  const request = await authorization(client, extra);
  setNow(at);
  const back = callback(await browser.get(request.path));
  expect(back.state).toBe(request.params.state);
  const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
  return verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce });
}

describe('Basic OP: the request', () => {
  it('oidcc-response-type-missing', async () => {
    const request = await authorization(client, { response_type: undefined });
    const params = expectAuthorizationError(await send(workerEnv, request.path), ['invalid_request', 'unsupported_response_type'], request.params.state);
    // RFC 6749 §4.1.2.1: a required parameter is missing (an empty one too); a response type we do not support is the other error.
    expect(params.error).toBe('invalid_request');
    const empty = await authorization(client, { response_type: '' });
    expect(expectAuthorizationError(await send(workerEnv, empty.path), ['invalid_request'], empty.params.state).error).toBe('invalid_request');
    const token = await authorization(client, { response_type: 'token' });
    expect(expectAuthorizationError(await send(workerEnv, token.path), ['unsupported_response_type'], token.params.state).error).toBe('unsupported_response_type');
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
    const { idToken } = await happyFlow(client, user, next(), { nonce: undefined });
    expect(idToken).not.toHaveProperty('nonce');
  });

  it('oidcc-ensure-request-with-unknown-parameter-succeeds', async () => {
    await happyFlow(client, user, next(), { extra: 'foobar' });
  });

  it('oidcc-display-page', async () => {
    const { page } = await happyFlow(client, user, next(), { display: 'page' });
    expect(page.text).toContain('autocomplete="current-password"');
  });

  it('oidcc-display-popup', async () => {
    const { page } = await happyFlow(client, user, next(), { display: 'popup' });
    expect(page.text).toContain('autocomplete="current-password"');
  });

  it('oidcc-ui-locales', async () => {
    await happyFlow(client, user, next(), { ui_locales: 'se' });
  });

  it('oidcc-claims-locales', async () => {
    await happyFlow(client, user, next(), { claims_locales: 'se' });
  });

  it('oidcc-ensure-request-with-acr-values-succeeds', async () => {
    // The suite sends every advertised value; the acr is one of them (a TOTP sign-in: aal2).
    const supported = (await send(workerEnv, '/.well-known/openid-configuration')).json.acr_values_supported as string[];
    const { idToken } = await happyFlow(client, user, next(), { acr_values: supported.join(' ') });
    expect(supported).toContain(idToken.acr);
    expect(idToken.acr).toBe('aal2');
  });
});

describe('Basic OP: scopes', () => {
  const discovered = async () => (await send(workerEnv, '/.well-known/openid-configuration')).json.scopes_supported as string[];

  it('oidcc-scope-profile', async () => {
    expect(await discovered()).toContain('profile');
    const { tokens, idToken } = await happyFlow(client, user, next(), { scope: 'openid profile' });
    expect(tokens.scope).toBe('openid profile');
    // OIDC Core §5.4: the profile claims we hold (preferred_username) at UserInfo; no name, which we do not hold.
    expect(await expectUserinfo(tokens.access_token, idToken.sub!)).toEqual({ sub: idToken.sub, preferred_username: user.username });
  });

  // We hold no email, address or phone: discovery does not list the scopes (the suite skips these modules), and a
  // request naming them succeeds with them left out of the granted scope (OIDC Core §3.1.2.1: unknown scopes are ignored).
  for (const scope of ['email', 'address', 'phone']) {
    it(`oidcc-scope-${scope}`, async () => {
      expect(await discovered()).not.toContain(scope);
      const { tokens, idToken } = await happyFlow(client, user, next(), { scope: `openid ${scope}` });
      expect(tokens.scope).toBe('openid');
      expect(await expectUserinfo(tokens.access_token, idToken.sub!)).toEqual({ sub: idToken.sub });
    });
  }

  it('oidcc-scope-all', async () => {
    const { tokens, idToken } = await happyFlow(client, user, next(), { scope: 'openid email phone address profile' });
    expect(tokens.scope).toBe('openid profile');
    expect(await expectUserinfo(tokens.access_token, idToken.sub!)).toEqual({ sub: idToken.sub, preferred_username: user.username });
  });

  it('oidcc-alternate-happy-flow', async () => {
    // The scope reversed and the query in another order (RFC 6749 §3.3: order does not matter).
    const request = await authorization(client, { scope: 'email openid' });
    const reordered = `/authorize?${new URLSearchParams(Object.entries(request.params).filter((entry): entry is [string, string] => entry[1] !== undefined).reverse())}`;
    const at = next();
    setNow(at);
    const browser = new Browser(workerEnv);
    const back = callback(await completeSignIn(browser, await browser.get(reordered), user, at));
    const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
    expect(tokens.scope).toBe('openid');
    await verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce });
  });
});

describe('Basic OP: prompt and max_age', () => {
  it('oidcc-prompt-login', async () => {
    const { browser, idToken: first } = await happyFlow(client, user, next());
    // prompt=login: the sign-in page although signed in, and a later auth_time.
    const { page, idToken: second } = await happyFlow(client, user, next(), { prompt: 'login' }, browser);
    expect(page.text).toContain('autocomplete="current-password"');
    expect(second.auth_time).toBeGreaterThan(first.auth_time as number);
    expect(second.sub).toBe(first.sub);
  });

  it('oidcc-prompt-none-not-logged-in', async () => {
    // A 128-character state comes back unchanged with an error that needs a user interface (OIDC Core §3.1.2.6).
    const request = await authorization(client, { prompt: 'none', state: randomValue(128) });
    setNow(next());
    const params = expectAuthorizationError(await new Browser(workerEnv).get(request.path), ['login_required', 'interaction_required', 'consent_required', 'account_selection_required'], request.params.state);
    expect(params.error).toBe('login_required');
  });

  it('oidcc-prompt-none-logged-in', async () => {
    const at = next();
    const { browser, idToken: first } = await happyFlow(client, user, at);
    const second = await silently(browser, at + 5, { prompt: 'none' });
    expect([second.sub, second.auth_time]).toEqual([first.sub, first.auth_time]);
  });

  it('oidcc-max-age-1', async () => {
    const at = next();
    const { browser, idToken: first } = await happyFlow(client, user, at);
    // Two seconds later max_age=1 asks again (the suite waits 2 s); the new sign-in's auth_time is later and recent.
    const request = await authorization(client, { max_age: '1' });
    setNow(at + 2);
    const page = await browser.get(request.path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('autocomplete="current-password"');
    const signedInAt = next();
    const back = callback(await completeSignIn(browser, page, user, signedInAt));
    const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
    const second = await verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce });
    expect(second.auth_time).toBe(signedInAt);
    expect(second.auth_time).toBeGreaterThan(first.auth_time as number);
  });

  it('oidcc-max-age-10000', async () => {
    const at = next();
    const { browser, idToken: first } = await happyFlow(client, user, at, { max_age: '15000' });
    expect(first.auth_time).toBe(at);
    const second = await silently(browser, at + 60, { max_age: '10000' });
    expect([second.sub, second.auth_time]).toEqual([first.sub, first.auth_time]);
  });
});

describe('Basic OP: hints', () => {
  it('oidcc-id-token-hint', async () => {
    const at = next();
    const { browser, tokens, idToken: first } = await happyFlow(client, user, at);
    // prompt=none with the first ID token as the hint: at once, the same person and auth_time.
    const second = await silently(browser, at + 5, { prompt: 'none', id_token_hint: tokens.id_token });
    expect([second.sub, second.auth_time]).toEqual([first.sub, first.auth_time]);
    // Story: a client passes a hint naming someone else (another user of this browser's machine, say). The session here is
    // not that person's: prompt=none is login_required, never a code for the wrong person; without it, the sign-in page.
    const other = await enrolled(workerEnv, at, uniqueName('hinted'));
    const { tokens: otherTokens } = await happyFlow(client, other, next());
    const forOther = await authorization(client, { prompt: 'none', id_token_hint: otherTokens.id_token });
    setNow(clock + 5);
    expectAuthorizationError(await browser.get(forOther.path), ['login_required'], forOther.params.state);
    const asked = await browser.get((await authorization(client, { id_token_hint: otherTokens.id_token })).path);
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('autocomplete="current-password"');
    // A hint we did not sign (an unsigned copy of our own, or garbage) proves nothing: no silent sign-in on it.
    const [head, body] = tokens.id_token.split('.');
    const unsigned = `${btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')}.${body}.`;
    for (const hint of [unsigned, `${head}.${body}.AAAA`, 'not-a-jwt']) {
      const forged = await authorization(client, { prompt: 'none', id_token_hint: hint });
      expectAuthorizationError(await browser.get(forged.path), ['login_required'], forged.params.state);
    }
  });

  it('oidcc-login-hint', async () => {
    // The hint prefills the username (escaped); the person may still sign in as anyone.
    const { page } = await happyFlow(client, user, next(), { login_hint: 'buffy@mfa.test' });
    expect(page.text).toMatch(/name="username"[^>]*value="buffy@mfa\.test"/);
    const hostile = await authorization(client, { login_hint: '"><script>alert(1)</script>' });
    const shown = await new Browser(workerEnv).get(hostile.path);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain('<script>alert(1)');
    expect(shown.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    // Longer than any username: no prefill, and no error.
    const long = await new Browser(workerEnv).get((await authorization(client, { login_hint: 'x'.repeat(65) })).path);
    expect(long.status).toBe(200);
    expect(long.text).not.toContain('x'.repeat(65));
  });
});
