import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { scheduled } from '../../../src/scheduled';
import { shardOfId } from '../../../src/db/shard-ids';
import { decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { callOn, decodeJwtPayload, PASSWORD, setNow, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { handleOf, ORIGIN, RP_ID } from '../passkeys/support';
import { bindings, enrolledOn, nameOnShard } from '../../shards/support';
import { authorizePath, basic, Browser, type Client, codeOf, type Enrolled, exchangeCode, opEnv, pkce, REDIRECT, registerClient, send, signIn, stepFields, T0, tokenRequest } from './support';

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

const SHARDS = 4;
const workerEnv = opEnv({ SHARD_COUNT: String(SHARDS) });
const users: Enrolled[] = [];
let client: Client;

beforeAll(async () => {
  client = await registerClient(workerEnv, { firstParty: true });
  for (let shard = 0; shard < SHARDS; shard++) users.push(await enrolledOn(workerEnv, T0, nameOnShard(shard, SHARDS, 'Op')));
  useRealTime();
}, 120_000);

describe('the provider across four shards', () => {
  it('signs a person of every shard in: the code, the cookie and the refresh token each find the user’s shard by themselves', async () => {
    for (const [shard, user] of users.entries()) {
      const { verifier, challenge } = await pkce();
      const browser = new Browser(workerEnv);
      const answer = await signIn(browser, user, authorizePath(client.clientId, challenge), T0 + 30);
      expect(answer.status, `shard ${shard}`).toBe(303);
      const code = codeOf(answer.location);
      setNow(T0 + 31);
      const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
      expect(tokens.status, tokens.text).toBe(200);
      const sid = decodeJwtPayload(tokens.json.id_token as string).sid as string;
      expect(parseInt(sid[0]!, 16), `shard ${shard}`).toBe(shard);
      // Codes, grants and the provider session are on the user's shard; the registry only on the primary.
      const db = bindings(SHARDS)[shard]!;
      expect((await db.prepare('SELECT COUNT(*) AS n FROM oidc_codes WHERE user_id = ?').bind(user.id).first<{ n: number }>())!.n).toBe(1);
      expect((await db.prepare('SELECT COUNT(*) AS n FROM oidc_grants WHERE user_id = ?').bind(user.id).first<{ n: number }>())!.n).toBe(1);
      expect((await db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE id = ?').bind(sid).first<{ n: number }>())!.n).toBe(1);
      if (shard > 0) expect((await db.prepare('SELECT COUNT(*) AS n FROM oidc_clients').first<{ n: number }>())!.n).toBe(0);
      const info = await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } });
      expect(info.json.sub).toBe(user.id);
      setNow(T0 + 60);
      const refreshed = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string }, basic(client));
      expect(refreshed.status).toBe(200);
      // SSO finds the provider session on its shard from the cookie alone.
      const again = await browser.get(authorizePath(client.clientId, challenge));
      expect(again.status).toBe(303);
    }
  });

  it('the hourly back-channel sweep serves every shard: a session ended on each without a delivery is told, once', async () => {
    const told = await registerClient(workerEnv, { firstParty: true, name: 'Told', backchannelLogoutUri: 'https://rp.example/bcl' });
    const sids = new Map<string, string>();
    for (const user of users) {
      const { verifier, challenge } = await pkce();
      const answer = await signIn(new Browser(workerEnv), user, authorizePath(told.clientId, challenge), T0 + 120);
      const tokens = await exchangeCode(workerEnv, told, verifier, answer.location);
      const sid = decodeJwtPayload(tokens.json.id_token as string).sid as string;
      sids.set(user.id, sid);
      // Signed out by a request whose own delivery never ran: only the sweep can tell.
      await bindings(SHARDS)[shardOfId(sid, SHARDS)!]!.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?').bind(T0 + 130, sid).run();
    }
    const posted: Record<string, unknown>[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
      posted.push(decodeJwtPayload(new URLSearchParams(String(init?.body)).get('logout_token')!));
      return new Response(null, { status: 200 });
    });
    for (const at of [T0 + 120 + 3601, T0 + 120 + 7201]) {
      setNow(at);
      const ctx = createExecutionContext();
      await scheduled(createScheduledController({ scheduledTime: new Date(at * 1000), cron: '47 * * * *' }), workerEnv, ctx);
      await waitOnExecutionContext(ctx);
    }
    const mine = posted.filter((payload) => payload.aud === told.clientId);
    expect(mine.map((payload) => `${payload.sub} ${payload.sid}`).sort()).toEqual([...sids].map(([sub, sid]) => `${sub} ${sid}`).sort());
    expect(new Set(mine.map((payload) => parseInt(String(payload.sid)[0]!, 16)))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('passwordless on the sign-in page, for a person of every shard: the user handle finds the shard, the provider session lives there', async () => {
    for (let shard = 0; shard < SHARDS; shard++) {
      setNow(T0 + 200);
      // A passkey made with UV through the JSON API (first enrollment) on this shard.
      const authenticator = await SoftwareAuthenticator.create(-7);
      const username = nameOnShard(shard, SHARDS, 'Pk');
      const registered = await callOn<{ id: string }>(workerEnv, '/register', { json: { username, password: PASSWORD } });
      const login = await callOn<{ token: string }>(workerEnv, '/login', { json: { username, password: PASSWORD } });
      const options = await callOn<{ challengeId: string; publicKey: { challenge: string } }>(workerEnv, '/webauthn/register/options', { token: login.body.token, json: {} });
      const registration = await authenticator.register(decodeBase64urlIgnorePadding(options.body.publicKey.challenge), { rpId: RP_ID, origin: ORIGIN });
      expect((await callOn(workerEnv, '/webauthn/register/verify', { token: login.body.token, json: { challengeId: options.body.challengeId, response: registration } })).status).toBe(201);
      const userId = registered.body.id;

      const { verifier, challenge } = await pkce();
      const browser = new Browser(workerEnv);
      const page = await browser.get(authorizePath(client.clientId, challenge));
      const json = /<script type="application\/json" id="signin-passkey-options">([^<]*)<\/script>/.exec(page.text)![1]!;
      const form = /<form id="signin-passkey-form"[\s\S]*?<\/form>/.exec(page.text)![0];
      const assertion = await authenticator.assert(decodeBase64urlIgnorePadding(JSON.parse(json).challenge as string), { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(userId) });
      const answer = await browser.post('/authorize/passkey-signin', { ...stepFields(page.text), challengeId: /name="challengeId" value="([^"]+)"/.exec(form)![1]!, response: JSON.stringify(assertion) });
      expect(answer.status, `shard ${shard}: ${answer.text.slice(0, 300)}`).toBe(303);
      const tokens = await exchangeCode(workerEnv, client, verifier, answer.location);
      expect(tokens.status, tokens.text).toBe(200);
      const claims = decodeJwtPayload(tokens.json.id_token as string);
      expect(claims).toMatchObject({ sub: userId, acr: 'phrh', amr: ['pop', 'mfa'] });
      expect(shardOfId(claims.sid as string, SHARDS)).toBe(shard);
      const db = bindings(SHARDS)[shard]!;
      expect((await db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE id = ? AND acr = ?').bind(claims.sid, 'phrh').first<{ n: number }>())!.n).toBe(1);
      // SSO finds that provider session from the cookie alone.
      expect((await browser.get(authorizePath(client.clientId, challenge))).status).toBe(303);
    }
  });
});
