import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, codeOf, enrolled, ISSUER, opEnv, pkce, REDIRECT, registerClient, send, signIn, T0, tokenRequest, type Client } from './support';

/** API.md, "Logout and revocation": Back-Channel Logout 1.0 when a reset link ends a person's sessions. */

const workerEnv = opEnv();
const BCL = 'https://rp.example/backchannel';
let client: Client;
let silent: Client;
let challenge: string;
let verifier: string;
let posts: { url: string; token: string }[];
let status: number[];

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true, backchannelLogoutUri: BCL });
  silent = await registerClient(workerEnv, { firstParty: true, name: 'No back-channel' });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

function interceptPosts(statuses: number[] = []) {
  posts = [];
  status = statuses;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('https://rp.example/')) return realFetch(input, init);
    posts.push({ url, token: new URLSearchParams(String(init?.body)).get('logout_token') ?? '' });
    return new Response(null, { status: status.shift() ?? 200 });
  });
}

async function signedIn(target: Client = client) {
  const user = await enrolled(workerEnv, T0, uniqueName('bcl'));
  const browser = new Browser(workerEnv);
  const done = await signIn(browser, user, authorizePath(target.clientId, challenge), T0 + 30);
  const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(done.location), redirect_uri: REDIRECT, code_verifier: verifier }, basic(target));
  return { user, browser, idToken: tokens.json.id_token as string };
}

async function verifyLogoutToken(token: string) {
  const jwks = (await send(workerEnv, '/.well-known/jwks.json')).json.keys as { kid: string }[];
  const header = decodeProtectedHeader(token);
  const key = await importJWK(jwks.find((k) => k.kid === header.kid)!, header.alg);
  const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: ISSUER, audience: client.clientId, typ: 'logout+jwt', currentDate: new Date((T0 + 40) * 1000) });
  return { payload, protectedHeader };
}

describe('back-channel logout when a support reset link is redeemed', () => {
  it('POST /password/reset ends every session, and the client holding tokens of one hears of it once', async () => {
    // Attack (second review): support issues a reset link for a compromised account; the owner
    // redeems it and every provider session ends, but the route is anonymous, so the hook that
    // follows a signed-in request never saw whose sessions ended, and the attacker's sessions at
    // the client apps lived on. The route now names the user (sessionsEndedFor).
    const { user } = await signedIn();
    interceptPosts();
    setNow(T0 + 40);
    const issued = await admin(workerEnv, `/admin/users/${user.id}/password-reset`, { json: { reason: 'identity checked' } });
    expect(issued.status, issued.text).toBe(201);
    expect(posts.length).toBe(0); // issuing the link ends nothing
    const done = await send(workerEnv, '/password/reset', { method: 'POST', headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': '203.0.113.77' }, body: JSON.stringify({ resetToken: issued.json.resetToken, newPassword: 'a completely new passphrase 42' }) });
    expect(done.status, done.text).toBe(200);
    expect(posts.length).toBe(1);
    expect(posts[0]!.url).toBe(BCL);
    const { payload, protectedHeader } = await verifyLogoutToken(posts[0]!.token);
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload.sub).toBe(user.id);
    expect(payload).not.toHaveProperty('nonce');
  });
});
