import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, uniqueName, useRealTime } from '../../helpers';
import { handleOf, passkeyUser, RP_ID, ORIGIN } from '../passkeys/support';
import { type Answer, authorizePath, basic, Browser, type Client, enrolled, exchangeCode, ISSUER, opEnv, PASSWORD, pkce, registerClient, signIn, stepFields, T0, tokenRequest } from './support';

/** API.md, "The authorization request", Assurance: acr_values aal2, phr, phrh in the client's order. */

afterEach(useRealTime);

const workerEnv = opEnv();
let client: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

async function tokensOf(location: string | null) {
  const tokens = await exchangeCode(workerEnv, client, verifier, location);
  expect(tokens.status, tokens.text).toBe(200);
  return { id: decodeJwtPayload(tokens.json.id_token as string), access: decodeJwtPayload(tokens.json.access_token as string), refresh: tokens.json.refresh_token as string };
}

const errorOf = (location: string | null) => Object.fromEntries(new URL(location!).searchParams);

function embeddedOptions(html: string): { challengeId: string; challenge: Uint8Array } {
  const json = /<script type="application\/json" id="passkey-options">([^<]*)<\/script>/.exec(html)![1]!;
  const value = JSON.parse(json).challenge as string;
  const bytes = Uint8Array.from(atob(value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
  return { challengeId: /name="challengeId" value="([^"]+)"/.exec(html)![1]!, challenge: bytes };
}

type PasskeyUser = Awaited<ReturnType<typeof passkeyUser>>;

/** Password, then the passkey (or, with `recovery`, a recovery code) on the hosted pages, from the page `start`. */
async function signInWithPasskey(browser: Browser, user: PasskeyUser, start: Answer, recovery?: string): Promise<Answer> {
  const second = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
  if (recovery) return browser.post('/authorize/recovery', { ...stepFields(second.text), recoveryCode: recovery });
  const offer = embeddedOptions(second.text);
  const response = await user.authenticator.assert(offer.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(user.id) });
  return browser.post('/authorize/passkey', { ...stepFields(second.text), challengeId: offer.challengeId, response: JSON.stringify(response) });
}

describe('acr_values', () => {
  it('a TOTP-only account: aal2 when listed; asked for phr it gets unmet_authentication_requirements, after a sign-in and with SSO alike', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('acr-totp'));
    const browser = new Browser(workerEnv);
    const unmet = await signIn(browser, user, authorizePath(client.clientId, challenge, { acr_values: 'phr' }), T0 + 30);
    expect(errorOf(unmet.location)).toMatchObject({ error: 'unmet_authentication_requirements', state: 'st-1', iss: ISSUER });
    setNow(T0 + 40);
    // Story: the client asks again hoping the live session passes for a passkey: it never does, and no code is written.
    const sso = await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh phr' }));
    expect(errorOf(sso.location).error).toBe('unmet_authentication_requirements');
    const preferred = await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh aal2' }));
    const tokens = await tokensOf(preferred.location);
    expect(tokens.id.acr).toBe('aal2');
    expect(tokens.access.acr).toBe('aal2');
    // Unknown values are ignored; nothing left means no requirement.
    expect((await tokensOf((await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'gold' }))).location)).id.acr).toBe('aal2');
  });

  it('a synced passkey satisfies phr, never phrh: the first listed value it meets, and an account with only synced keys asked for phrh alone is unmet', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const done = await signInWithPasskey(browser, user, await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh phr aal2' })));
    expect(done.status, done.text.slice(0, 300)).toBe(303);
    const tokens = await tokensOf(done.location);
    expect(tokens.id).toMatchObject({ acr: 'phr', amr: ['pwd', 'pop'] });
    setNow(T0 + 40);
    expect((await tokensOf((await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'aal2 phr' }))).location)).id.acr).toBe('aal2');
    const phrh = await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh' }));
    expect(errorOf(phrh.location).error).toBe('unmet_authentication_requirements');
  });

  it('a device-bound passkey: a session that proved a recovery code is asked for the passkey; acr is what was proven and listed, and a refresh or SSO never raises it', async () => {
    const user = await passkeyUser(T0);
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const weak = await signInWithPasskey(browser, user, await browser.get(authorizePath(client.clientId, challenge)), user.recoveryCodes[0]);
    const weakTokens = await tokensOf(weak.location);
    expect(weakTokens.id.acr).toBe('aal2');
    setNow(T0 + 40);
    // Story: the client needs phishing resistance; the aal2 session must not pass for it, silently or otherwise.
    expect(errorOf((await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phr', prompt: 'none' }))).location).error).toBe('login_required');
    const stepUp = await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phr' }));
    expect(stepUp.status).toBe(200);
    expect(stepUp.text).toMatch(/role="alert">This application asks for a stronger sign-in/);
    // The old session does not pass at a later step either.
    expect((await browser.post('/authorize/continue', stepFields(stepUp.text))).status).toBe(200);
    const strong = await signInWithPasskey(browser, user, stepUp);
    expect(strong.status, strong.text.slice(0, 300)).toBe(303);
    const strongTokens = await tokensOf(strong.location);
    // Proven phrh, asked phr: acr is the listed value it satisfies.
    expect(strongTokens.id).toMatchObject({ acr: 'phr', amr: ['pwd', 'pop', 'hwk'], auth_time: T0 + 40 });
    expect(strongTokens.access.acr).toBe('phr');
    // Without acr_values, SSO gives the strongest the session proved.
    setNow(T0 + 50);
    expect((await tokensOf((await browser.get(authorizePath(client.clientId, challenge))).location)).id.acr).toBe('phrh');
    // A refresh of the aal2 client session stays aal2 although the browser later proved a passkey.
    const refreshed = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: weakTokens.refresh }, basic(client));
    expect(refreshed.status).toBe(200);
    expect(decodeJwtPayload(refreshed.json.id_token as string).acr).toBe('aal2');
    expect(decodeJwtPayload(refreshed.json.access_token as string).acr).toBe('aal2');
  });
});

describe('phrh means a single-device passkey (BE=0), not one merely not backed up yet', () => {
  // Attack (second review): a syncable passkey that is not backed up yet reports BE=1, BS=0.
  // Judged by BS it was sold as device-bound (acr phrh, amr hwk), so a client that asks for
  // phrh to keep exportable keys out accepted one that can sync to a cloud account later.
  it('asked for phrh, an account whose only passkey is backup-eligible cannot meet it', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const done = await signInWithPasskey(browser, user, await browser.get(authorizePath(client.clientId, challenge, { acr_values: 'phrh' })));
    expect(done.status).toBe(303);
    expect(errorOf(done.location).error).toBe('unmet_authentication_requirements');
  });

  it('without acr_values, that passkey proves phr, and amr does not claim hwk', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const browser = new Browser(workerEnv);
    setNow(T0 + 60);
    const done = await signInWithPasskey(browser, user, await browser.get(authorizePath(client.clientId, challenge)));
    const tokens = await tokensOf(done.location);
    expect(tokens.id.acr).toBe('phr');
    expect(tokens.id.amr).not.toContain('hwk');
  });
});
