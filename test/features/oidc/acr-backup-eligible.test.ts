import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, uniqueName, useRealTime } from '../../helpers';
import { handleOf, passkeyUser, RP_ID, ORIGIN } from '../passkeys/support';
import { authorizePath, basic, Browser, codeOf, enrolled, ISSUER, opEnv, PASSWORD, pkce, REDIRECT, registerClient, signIn, stepFields, T0, tokenRequest, type Answer, type Client } from './support';

/** API.md, "The authorization request", Assurance: what phrh requires of a passkey. */

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
  const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(location), redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
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
  const response = await user.authenticator.assert(offer.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(user.id), flags: { bs: false } });
  return browser.post('/authorize/passkey', { ...stepFields(second.text), challengeId: offer.challengeId, response: JSON.stringify(response) });
}

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
