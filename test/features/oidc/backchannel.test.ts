import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { getDb } from '../../../src/db/client';
import { sessions } from '../../../src/db/schema';
import { claimEnded } from '../../../src/features/oidc/backchannel-store';
import { oidcGrants } from '../../../src/features/oidc/tables';
import { scheduled } from '../../../src/scheduled';
import { decodeJwtPayload, PASSWORD, setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, type Client, codeOf, enrolled, exchangeCode, interceptLogoutPosts, ISSUER, type LogoutPost, opEnv, pkce, REDIRECT, registerClient, send, signIn, T0, tokenRequest } from './support';

/** API.md, "Logout and revocation": Back-Channel Logout 1.0 when a session a client holds tokens for ends. */

const workerEnv = opEnv();
const BCL = 'https://rp.example/backchannel';
let client: Client;
let silent: Client;
let challenge: string;
let verifier: string;
let posts: LogoutPost[];

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
  posts = interceptLogoutPosts('https://rp.example/', () => statuses.shift() ?? 200);
}

async function signedIn(target: Client = client) {
  const user = await enrolled(workerEnv, T0, uniqueName('bcl'));
  const browser = new Browser(workerEnv);
  const done = await signIn(browser, user, authorizePath(target.clientId, challenge), T0 + 30);
  const tokens = await exchangeCode(workerEnv, target, verifier, done.location);
  return { user, browser, idToken: tokens.json.id_token as string, refreshToken: tokens.json.refresh_token as string };
}

async function verifyLogoutToken(token: string, at = T0 + 40) {
  const jwks = (await send(workerEnv, '/.well-known/jwks.json')).json.keys as { kid: string }[];
  const header = decodeProtectedHeader(token);
  const key = await importJWK(jwks.find((k) => k.kid === header.kid)!, header.alg);
  const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: ISSUER, audience: client.clientId, typ: 'logout+jwt', currentDate: new Date(at * 1000) });
  return { payload, protectedHeader };
}

const sidOf = (idToken: string) => decodeJwtPayload(idToken).sid as string;

/** The logout tokens POSTed for `userId` (the sweep serves the whole shard, so other tests' sessions may be in it). */
const postsFor = (userId: string) => posts.filter((p) => decodeJwtPayload(p.token).sub === userId);

/** The hourly Cron Trigger at `at` (the sweep runs before the cleanup). */
async function hourlyCron(at: number) {
  setNow(at);
  const ctx = createExecutionContext();
  await scheduled(createScheduledController({ scheduledTime: new Date(at * 1000), cron: '47 * * * *' }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
}

const grantRows = (userId: string) => getDb(workerEnv.DB).select().from(oidcGrants).where(eq(oidcGrants.userId, userId));

describe('back-channel logout', () => {
  it('DELETE /sessions/:id of the provider session POSTs one logout token (typ logout+jwt, sid, sub, events, no nonce) to the client, once', async () => {
    const { user, idToken } = await signedIn();
    const sid = JSON.parse(atob(idToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string;
    interceptPosts();
    setNow(T0 + 40);
    expect((await send(workerEnv, `/sessions/${sid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}` } })).status).toBe(204);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe(BCL);
    const { payload, protectedHeader } = await verifyLogoutToken(posts[0]!.token);
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload).toMatchObject({ iss: ISSUER, aud: client.clientId, sub: user.id, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(typeof payload.jti).toBe('string');
    expect(payload.iat).toBe(T0 + 40);
    expect(payload).not.toHaveProperty('nonce');
    // Another session-ending request later does not notify the same session again.
    await send(workerEnv, '/logout', { method: 'POST', headers: { Authorization: `Bearer ${user.fullToken}` } });
    expect(posts).toHaveLength(1);
  });

  it('/end-session notifies too; a client without a backchannelLogoutUri gets nothing; a failing client is retried, bounded, and the token is never logged', async () => {
    const quiet = await signedIn(silent);
    interceptPosts();
    setNow(T0 + 40);
    await quiet.browser.get(`/end-session?${new URLSearchParams({ id_token_hint: quiet.idToken })}`);
    expect(posts).toHaveLength(0);
    const { browser, idToken } = await signedIn();
    interceptPosts([503, 503, 503, 503]);
    const logs = vi.spyOn(console, 'log');
    setNow(T0 + 40);
    await browser.get(`/end-session?${new URLSearchParams({ id_token_hint: idToken })}`);
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.token)).size).toBe(1);
    const lines = logs.mock.calls.map((args) => String(args[0])).filter((line) => line.includes('oidc_backchannel_logout'));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('attempt 3 failed, status 503');
    for (const line of logs.mock.calls.map((args) => String(args[0]))) expect(line).not.toContain(posts[0]!.token);
  });

  it('a refresh token presented again (a theft) revokes the client session and notifies the client', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('bcl-reuse'));
    const done = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge), T0 + 30);
    const first = await exchangeCode(workerEnv, client, verifier, done.location);
    setNow(T0 + 40);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string }, basic(client))).status).toBe(200);
    interceptPosts();
    // Story: the old refresh token, stolen, is played after the grace period: the session ends and the client hears of it.
    setNow(T0 + 100);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string }, basic(client))).json.error).toBe('invalid_grant');
    expect(posts).toHaveLength(1);
    const { payload } = await verifyLogoutToken(posts[0]!.token);
    expect(payload.sub).toBe(user.id);
  });

  it('a support MFA reset ends the person’s sessions and notifies the client', async () => {
    const { user } = await signedIn();
    interceptPosts();
    setNow(T0 + 40);
    const reset = await admin(workerEnv, `/admin/users/${user.id}/reset-mfa`, { json: { reason: 'lost phone, identity checked' } });
    expect(reset.status, reset.text).toBeLessThan(300);
    expect(posts).toHaveLength(1);
    expect((await verifyLogoutToken(posts[0]!.token)).payload.sub).toBe(user.id);
  });
});

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

describe('back-channel delivery: claim, then confirm; the hourly sweep', () => {
  it('an isolate evicted after claiming a logout loses nothing: once the lease lapses, the hourly sweep delivers it, once', async () => {
    // Failure story: /logout ends the session and its delivery claims the rows in ctx.waitUntil,
    // then the isolate is evicted before the POST. The delivery used to mark the rows as sent
    // when it claimed them, so nothing ever told the client and the person stayed signed in
    // there. Now a claim is only a lease: the rows are confirmed after the client answered.
    const { user, idToken } = await signedIn();
    interceptPosts();
    setNow(T0 + 40);
    const db = getDb(workerEnv.DB);
    await db.update(sessions).set({ revokedAt: T0 + 40 }).where(eq(sessions.id, sidOf(idToken)));
    // The evicted delivery: it claimed, and never came back.
    expect(await claimEnded(db, eq(oidcGrants.userId, user.id), T0 + 40)).toHaveLength(1);
    await hourlyCron(T0 + 100); // within the lease: the claim may still be in flight
    expect(postsFor(user.id)).toHaveLength(0);
    await hourlyCron(T0 + 3600);
    expect(postsFor(user.id)).toHaveLength(1);
    const { payload } = await verifyLogoutToken(postsFor(user.id)[0]!.token, T0 + 3600);
    expect(payload).toMatchObject({ sub: user.id, sid: sidOf(idToken), iat: T0 + 3600 });
    expect((await grantRows(user.id))[0]).toMatchObject({ logoutSentAt: T0 + 3600, logoutAttempts: 2 });
    await hourlyCron(T0 + 7200);
    expect(postsFor(user.id)).toHaveLength(1);
  });

  it('a client that was down is retried by later sweeps, three rounds of three attempts at most, each attempt logged without the token', async () => {
    // Failure story: the client's receiver is down when the person signs out; the three
    // attempts of the request's round fail. The rows are handed back (unmarked), so the next
    // sweeps try again, and after the third failed round the delivery gives up for good.
    const { user, browser, idToken } = await signedIn();
    interceptPosts(Array(12).fill(503));
    const logs = vi.spyOn(console, 'log');
    setNow(T0 + 40);
    await browser.get(`/end-session?${new URLSearchParams({ id_token_hint: idToken })}`);
    expect(postsFor(user.id)).toHaveLength(3);
    expect((await grantRows(user.id))[0]).toMatchObject({ logoutSentAt: null, logoutClaimedAt: null, logoutAttempts: 1 });
    await hourlyCron(T0 + 3600);
    expect(postsFor(user.id)).toHaveLength(6);
    await hourlyCron(T0 + 7200);
    expect(postsFor(user.id)).toHaveLength(9);
    await hourlyCron(T0 + 10800);
    expect(postsFor(user.id)).toHaveLength(9);
    const lines = logs.mock.calls.map((args) => String(args[0])).filter((line) => line.includes('oidc_backchannel_logout') && line.includes(user.id));
    expect(lines).toHaveLength(9);
    expect(lines[2]).toContain('attempt 3 failed, status 503, left for the next sweep');
    expect(lines[8]).toContain('attempt 3 failed, status 503, given up');
    for (const line of logs.mock.calls.map((args) => String(args[0]))) for (const { token } of posts) expect(line).not.toContain(token);
  });

  it('a client that comes back is served by the next sweep, and confirmed', async () => {
    const { user, browser, idToken } = await signedIn();
    interceptPosts([503, 503, 503]);
    setNow(T0 + 40);
    await browser.get(`/end-session?${new URLSearchParams({ id_token_hint: idToken })}`);
    expect(postsFor(user.id)).toHaveLength(3);
    await hourlyCron(T0 + 3600);
    expect(postsFor(user.id)).toHaveLength(4);
    expect((await grantRows(user.id))[0]).toMatchObject({ logoutSentAt: T0 + 3600, logoutAttempts: 2 });
    await hourlyCron(T0 + 7200);
    expect(postsFor(user.id)).toHaveLength(4);
  });

  it('a session that merely idles out or reaches its end sends no logout token; one ended without a delivery is told by the sweep', async () => {
    // Failure story: the sweep sent a logout token for every client session it found no
    // longer usable, idle ones included. An app that keeps its own login and never refreshes
    // (mod_auth_openidc's default) was told the person's sign-in was over an hour after it
    // began, and signed them out, though nobody signed out anywhere. A logout token now
    // follows an end someone caused; tokens that lapse tell the client by failing.
    const { user, idToken } = await signedIn();
    interceptPosts();
    await hourlyCron(T0 + 30 + 3600 + 1); // the client session idle past its limit
    await hourlyCron(T0 + 30 + 86_400 + 1); // the provider session past its end
    expect(postsFor(user.id)).toHaveLength(0);
    // An end whose own delivery never ran (the isolate went away with it): the sweep tells it.
    await workerEnv.DB.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?').bind(T0 + 86_500, sidOf(idToken)).run();
    await hourlyCron(T0 + 86_400 + 3600);
    expect(postsFor(user.id)).toHaveLength(1);
    expect((await verifyLogoutToken(postsFor(user.id)[0]!.token, T0 + 86_400 + 3600)).payload).toMatchObject({ sub: user.id, sid: sidOf(idToken) });
  });
});

describe('back-channel logout after a revocation at /revoke or of a reused code', () => {
  it('a client that revokes its own refresh token (RFC 7009) is not sent a logout token for it', async () => {
    // Failure story: the sweep finds every ended client session, so a client that revoked its
    // refresh token itself (dropping offline access, the person still signed in there) got a
    // logout token for the sid an hour later and signed the person out.
    const { user, refreshToken } = await signedIn();
    interceptPosts();
    setNow(T0 + 40);
    const revoked = await send(workerEnv, '/revoke', { method: 'POST', body: new URLSearchParams({ token: refreshToken }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(client) } });
    expect(revoked.status).toBe(200);
    expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: refreshToken }, basic(client))).json.error).toBe('invalid_grant');
    await hourlyCron(T0 + 3600);
    expect(postsFor(user.id)).toHaveLength(0);
  });

  it('a code presented twice revokes the first exchange’s session and tells the client at once, not an hour later', async () => {
    // Attack story: a code leaked (a proxy log, a Referer) and someone redeems it first; the
    // client's own exchange then fails and the first exchange's tokens are revoked. Until
    // the hourly sweep, the client kept the person signed in on the session those tokens
    // opened. The revocation now schedules its logout token like a refresh-token reuse's,
    // and the sweep sends no second one.
    const user = await enrolled(workerEnv, T0, uniqueName('bcl-code'));
    const done = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge), T0 + 30);
    const exchange = { grant_type: 'authorization_code', code: codeOf(done.location), redirect_uri: REDIRECT, code_verifier: verifier };
    expect((await tokenRequest(workerEnv, exchange, basic(client))).status).toBe(200);
    interceptPosts();
    setNow(T0 + 40);
    expect((await tokenRequest(workerEnv, exchange, basic(client))).json.error).toBe('invalid_grant');
    expect(postsFor(user.id)).toHaveLength(1);
    await hourlyCron(T0 + 3600);
    expect(postsFor(user.id)).toHaveLength(1);
  });
});

describe('back-channel logout when the account is deleted', () => {
  it('DELETE /me tells the client holding the account’s tokens, although the rows naming it are deleted with the account', async () => {
    // Attack story: the owner of a compromised account deletes it, expecting the attacker's
    // sessions everywhere to end. The deletion cascaded the client-session rows away
    // before any delivery looked for them, so the apps were never told and the attacker's
    // session at the app lived on. The rows owed a logout are now read before the deletion
    // batch and delivered from memory after it succeeded.
    const { user, idToken } = await signedIn();
    interceptPosts();
    setNow(T0 + 40);
    const refused = await send(workerEnv, '/me', { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'not the password at all' }) });
    expect(refused.status).toBe(401);
    expect(posts).toHaveLength(0);
    const deleted = await send(workerEnv, '/me', { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    expect(deleted.status, deleted.text).toBe(204);
    expect(await grantRows(user.id)).toEqual([]);
    expect(posts).toHaveLength(1);
    const { payload } = await verifyLogoutToken(posts[0]!.token);
    expect(payload).toMatchObject({ sub: user.id, sid: sidOf(idToken), aud: client.clientId });
  });
});

describe('back-channel delivery: one slow client does not use up the others’ attempts', () => {
  it('a sign-out owed to six clients POSTs to at most four at once, and every client is told', async () => {
    // Failure story: every logout token was POSTed at once. A Worker keeps six connections
    // open per invocation and queues the rest, while each attempt's 5 s timeout runs from its
    // fetch() call; a slow client (or several) held the connections, the queued POSTs of the
    // others timed out unsent and spent their rounds. Deliveries now go four at a time.
    const clients: Client[] = [];
    for (let i = 0; i < 6; i++) {
      setNow(T0 - 6000 + 600 * i); // the support API's flood filter counts a minute at a time
      clients.push(await registerClient(workerEnv, { firstParty: true, name: `Lane ${i}`, backchannelLogoutUri: `https://rp.example/lane-${i}` }));
    }
    const user = await enrolled(workerEnv, T0, uniqueName('bcl-lanes'));
    const browser = new Browser(workerEnv);
    for (const [i, each] of clients.entries()) {
      const answer = i === 0 ? await signIn(browser, user, authorizePath(each.clientId, challenge), T0 + 30) : await browser.get(authorizePath(each.clientId, challenge));
      const tokens = await exchangeCode(workerEnv, each, verifier, answer.location);
      expect(tokens.status, tokens.text).toBe(200);
    }
    let inFlight = 0;
    let most = 0;
    const told: string[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith('https://rp.example/lane-')) return realFetch(input, init);
      inFlight += 1;
      most = Math.max(most, inFlight);
      // The answer comes after a turn of the event loop, so POSTs started together overlap.
      await new Promise((resolve) => setTimeout(resolve, 0));
      inFlight -= 1;
      told.push(url);
      return new Response(null, { status: 200 });
    });
    setNow(T0 + 40);
    const out = await send(workerEnv, '/logout', { method: 'POST', headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ scope: 'all' }) });
    expect(out.status).toBe(204);
    expect(told.sort()).toEqual(clients.map((_, i) => `https://rp.example/lane-${i}`).sort());
    expect(most).toBe(4);
  });
});
