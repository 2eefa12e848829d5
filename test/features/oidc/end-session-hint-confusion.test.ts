import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, type Client, enrolled, exchangeCode, interceptLogoutPosts, opEnv, pkce, registerClient, signIn, T0, tokenRequest } from './support';

/**
 * /end-session's id_token_hint token confusion (verifyIdTokenHint in
 * src/features/oidc/end-session.ts takes `typ: JWT` only). A hint for this
 * very browser session signs out at once, without
 * the confirmation page. A back-channel logout token (`logout+jwt`) carries
 * the same `iss`, `sub` and `sid` under the same keys, and travels where ID
 * tokens do not: to the client's receiver and whatever logs it keeps. After a
 * refresh-token reuse the client session ends but the provider session
 * lives, and the logout token names it: whoever read that token can sign the
 * person out of everything with a link, no confirmation.
 */

const workerEnv = opEnv();
const BCL = 'https://rp.example/end-session-hint-bcl';
let client: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true, backchannelLogoutUri: BCL });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

describe('/end-session: only an ID token is a hint', () => {
  it('a logout token naming this browser session is no hint: the person is asked to confirm', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('esh'));
    const browser = new Browser(workerEnv);
    const done = await signIn(browser, user, authorizePath(client.clientId, challenge), T0 + 30);
    const first = await exchangeCode(workerEnv, client, verifier, done.location);
    setNow(T0 + 40);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string }, basic(client))).status).toBe(200);
    const posted = interceptLogoutPosts(BCL);
    setNow(T0 + 100);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string }, basic(client))).json.error).toBe('invalid_grant');
    vi.restoreAllMocks();
    expect(posted).toHaveLength(1);
    expect(decodeProtectedHeader(posted[0]!.token).typ).toBe('logout+jwt');
    // The provider session is still live (SSO answers at once) ...
    setNow(T0 + 110);
    expect((await browser.get(authorizePath(client.clientId, challenge))).status).toBe(303);
    // ... and a link with the logout token as the hint must not end it without the person's confirmation.
    const out = await browser.get(`/end-session?${new URLSearchParams({ id_token_hint: posted[0]!.token })}`);
    expect(out.status).toBe(200);
    expect(out.text).toContain('name="confirm"');
    expect(browser.jar.has('__Host-edge-mfa-op')).toBe(true);
  });
});
