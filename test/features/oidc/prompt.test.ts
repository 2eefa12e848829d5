import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, Browser, type Client, enrolled, exchangeCode, ISSUER, opEnv, pkce, registerClient, signIn, stepFields, T0 } from './support';

/** API.md, "The authorization request": prompt (none, login, consent) and max_age with a live provider session. */

afterEach(useRealTime);

const workerEnv = opEnv();
let firstParty: Client;
let thirdParty: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  firstParty = await registerClient(workerEnv, { firstParty: true });
  thirdParty = await registerClient(workerEnv, { name: 'Third party' });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

async function idTokenOf(client: Client, location: string | null) {
  const tokens = await exchangeCode(workerEnv, client, verifier, location);
  expect(tokens.status, tokens.text).toBe(200);
  return decodeJwtPayload(tokens.json.id_token as string);
}

const errorOf = (location: string | null) => Object.fromEntries(new URL(location!).searchParams);

describe('prompt', () => {
  it('prompt=none never shows a page: a code with SSO and remembered consent, consent_required without it, login_required without a session', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('silent'));
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const noSession = await browser.get(authorizePath(firstParty.clientId, challenge, { prompt: 'none' }));
    expect(errorOf(noSession.location)).toMatchObject({ error: 'login_required', state: 'st-1', iss: ISSUER });
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 40);
    // First party, live session: a code, no page.
    const silent = await browser.get(authorizePath(firstParty.clientId, challenge, { prompt: 'none' }));
    expect(silent.status).toBe(303);
    expect((await idTokenOf(firstParty, silent.location)).auth_time).toBe(T0 + 30);
    // Story: a third-party client probes silently for a grant the person never gave: consent_required, not a page, not a code.
    const unconsented = await browser.get(authorizePath(thirdParty.clientId, challenge, { prompt: 'none' }));
    expect(errorOf(unconsented.location)).toMatchObject({ error: 'consent_required', state: 'st-1', iss: ISSUER });
    // Once allowed, the same silent request gets a code.
    const page = await browser.get(authorizePath(thirdParty.clientId, challenge));
    await browser.post('/authorize/consent', { ...stepFields(page.text), decision: 'allow' });
    const consented = await browser.get(authorizePath(thirdParty.clientId, challenge, { prompt: 'none' }));
    expect(new URL(consented.location!).searchParams.get('code')).toBeTruthy();
    // prompt=consent: the consent page again although remembered.
    const again = await browser.get(authorizePath(thirdParty.clientId, challenge, { prompt: 'consent' }));
    expect(again.status).toBe(200);
    expect(again.text).toMatch(/name="decision" value="allow"/);
    // prompt=none with another value is invalid_request.
    const mixed = await browser.get(authorizePath(firstParty.clientId, challenge, { prompt: 'none login' }));
    expect(errorOf(mixed.location).error).toBe('invalid_request');
  });

  it('prompt=login proves both factors again and the ID token carries the new auth_time', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('relogin'));
    const browser = new Browser(workerEnv);
    const first = await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    expect((await idTokenOf(firstParty, first.location)).auth_time).toBe(T0 + 30);
    const again = await signIn(browser, user, authorizePath(firstParty.clientId, challenge, { prompt: 'login' }), T0 + 90);
    expect(again.status).toBe(303);
    expect((await idTokenOf(firstParty, again.location)).auth_time).toBe(T0 + 90);
  });
});

describe('max_age', () => {
  it('a session exactly max_age seconds old still counts; one second older proves the factors again, with a new auth_time', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('maxage'));
    const browser = new Browser(workerEnv);
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 130);
    const atBoundary = await browser.get(authorizePath(firstParty.clientId, challenge, { max_age: '100' }));
    expect(atBoundary.status).toBe(303);
    expect((await idTokenOf(firstParty, atBoundary.location)).auth_time).toBe(T0 + 30);
    setNow(T0 + 131);
    const past = await browser.get(authorizePath(firstParty.clientId, challenge, { max_age: '100' }));
    expect(past.status).toBe(200);
    expect(past.text).toContain('autocomplete="current-password"');
    // Its ticket does not accept the old session at a later step either.
    expect((await browser.post('/authorize/continue', stepFields(past.text))).text).toContain('autocomplete="current-password"');
    // Silently: login_required, never a page.
    const silent = await browser.get(authorizePath(firstParty.clientId, challenge, { max_age: '100', prompt: 'none' }));
    expect(errorOf(silent.location).error).toBe('login_required');
    const fresh = await signIn(browser, user, authorizePath(firstParty.clientId, challenge, { max_age: '100' }), T0 + 131);
    expect(fresh.status).toBe(303);
    expect((await idTokenOf(firstParty, fresh.location)).auth_time).toBe(T0 + 131);
  });

  it('max_age=0 always asks, even a second after signing in; a malformed max_age is invalid_request', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('maxage0'));
    const browser = new Browser(workerEnv);
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 31);
    expect((await browser.get(authorizePath(firstParty.clientId, challenge, { max_age: '0' }))).status).toBe(200);
    for (const bad of ['-1', '1.5', 'soon', '']) {
      const answer = await browser.get(authorizePath(firstParty.clientId, challenge, { max_age: bad }));
      expect(errorOf(answer.location).error, bad).toBe('invalid_request');
    }
  });
});

