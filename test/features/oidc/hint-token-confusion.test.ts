import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { Browser, type Client, enrolled, type Enrolled, interceptLogoutPosts, registerClient, send, T0 } from './support';
import { authorization, callback, completeSignIn, exchange, expectAuthorizationError, expectTokenResponse, workerEnv } from './conformance-support';

/**
 * id_token_hint token confusion (OIDC Core §3.1.2.1: the hint is an ID
 * token). Our access tokens (`at+jwt`, EdDSA) and back-channel logout tokens
 * (`logout+jwt`) carry our `iss`, the person's `sub` and one `aud`, under the
 * same keys as ID tokens, so a check of the signature and those claims alone
 * takes them for ID tokens. They travel where ID tokens do not: an access
 * token to every resource server, a logout token to a back-channel receiver
 * (and its logs). Neither may name anyone at /authorize.
 */

const BCL = 'https://rp.example/hint-backchannel';
let client: Client;
let user: Enrolled;

beforeAll(async () => {
  setNow(T0);
  user = await enrolled(workerEnv, T0, uniqueName('hint'));
  client = await registerClient(workerEnv, { firstParty: true, idTokenSignedResponseAlg: 'EdDSA', backchannelLogoutUri: BCL });
  useRealTime();
}, 60_000);

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

/** A browser signed in at `at` through the hosted pages: its tokens. */
async function signedIn(at: number) {
  const browser = new Browser(workerEnv);
  const request = await authorization(client);
  setNow(at);
  const page = await browser.get(request.path);
  const back = callback(await completeSignIn(browser, page, user, at));
  const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
  return { browser, tokens };
}

/** The logout tokens POSTed to the client's back-channel URI while `action` runs. */
async function logoutTokensOf(action: () => Promise<unknown>): Promise<string[]> {
  const posts = interceptLogoutPosts(BCL);
  await action();
  vi.restoreAllMocks();
  return posts.map((post) => post.token);
}

describe('id_token_hint: only an ID token names anyone', () => {
  it('an access token or a logout token passed as id_token_hint is no hint: prompt=none is login_required, never a silent code', async () => {
    const at = T0 + 30;
    const { browser, tokens } = await signedIn(at);
    // The genuine ID token is a hint (the control: this browser's session does sign in silently on it).
    const genuine = await authorization(client, { prompt: 'none', id_token_hint: tokens.id_token });
    setNow(at + 5);
    expect(callback(await browser.get(genuine.path)).code).toBeDefined();

    // Story: a resource server that was sent the person's access token (at+jwt) passes it as the hint: not an ID token.
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    const withAccess = await authorization(client, { prompt: 'none', id_token_hint: tokens.access_token });
    expectAuthorizationError(await browser.get(withAccess.path), ['login_required'], withAccess.params.state);

    // Story: a logout token from another of the person's sessions (read at the back-channel receiver) as the hint.
    const other = await signedIn(at + 60);
    const sid = JSON.parse(atob(other.tokens.id_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string;
    setNow(at + 70);
    const [logoutToken] = await logoutTokensOf(async () => {
      expect((await send(workerEnv, `/sessions/${sid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}` } })).status).toBe(204);
    });
    expect(decodeProtectedHeader(logoutToken!).typ).toBe('logout+jwt');
    const withLogout = await authorization(client, { prompt: 'none', id_token_hint: logoutToken });
    setNow(at + 75);
    expectAuthorizationError(await browser.get(withLogout.path), ['login_required'], withLogout.params.state);
  });
});
