import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { primaryDb } from '../../src/db/shards';
import { getSettings } from '../../src/settings';
import { signAccessToken } from '../../src/tokens/access-token';
import { signToken } from '../../src/tokens/jwt';
import { makeRefreshToken } from '../../src/tokens/refresh-token';
import { decodeJwtPayload, PASSWORD, setNow, useRealTime } from '../helpers';
import { adminOn, bindings, callOn, count, enrolledOn, nameOnShard, shardEnv, T0 } from './support';

afterEach(useRealTime);

const SHARDS = 4;
const workerEnv = shardEnv(SHARDS);
/** `id` with its shard digit replaced: the same random part, another shard. */
const onShard = (id: string, shard: number) => shard.toString(16) + id.slice(1);
// Within the pool's 900 s access-token lifetime of the tokens made at T0.
const NOW = T0 + 600;

type Enrolled = Awaited<ReturnType<typeof enrolledOn>>;
let alice: Enrolled;
let bob: Enrolled;
let aliceSid: string;
let bobSid: string;

beforeAll(async () => {
  alice = await enrolledOn(workerEnv, T0, nameOnShard(1, SHARDS, 'alice'));
  bob = await enrolledOn(workerEnv, T0, nameOnShard(2, SHARDS, 'bob'));
  aliceSid = decodeJwtPayload(alice.fullToken).sid as string;
  bobSid = decodeJwtPayload(bob.fullToken).sid as string;
  useRealTime();
}, 120_000);

describe('requests route to the shard their ids name', () => {
  it('each user’s rows and session are on its shard; the signing keys only on the primary', async () => {
    expect([alice.id[0], aliceSid[0], bob.id[0], bobSid[0]]).toEqual(['1', '1', '2', '2']);
    setNow(NOW);
    for (const user of [alice, bob]) {
      const me = await callOn<{ id: string }>(workerEnv, '/me', { token: user.fullToken });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(user.id);
    }
    const [primary, ...others] = bindings(SHARDS);
    expect(await count(primary!, 'signing_keys')).toBeGreaterThan(0);
    for (const db of others) expect(await count(db, 'signing_keys')).toBe(0);
    // The JWKS (primary) publishes the key that signed a shard-2 user's token.
    const jwks = await callOn<{ keys: { kid: string }[] }>(workerEnv, '/.well-known/jwks.json');
    const kid = JSON.parse(atob(bob.fullToken.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).kid;
    expect(jwks.body.keys.map((key) => key.kid)).toContain(kid);
  });

  it('an access token naming another shard’s session is refused (401, never 5xx)', async () => {
    // Attack: a genuinely signed token whose session id is moved to another shard, or names alice on bob's shard.
    setNow(NOW);
    const settings = await getSettings(workerEnv);
    const sign = (sub: string, sid: string) =>
      signAccessToken(primaryDb(workerEnv), settings, { sub, username: alice.username, sid, amr: ['pwd', 'otp'], authTimeSeconds: NOW, sessionEndsAtSeconds: NOW + 600 }, NOW);
    const forged = [
      await sign(alice.id, onShard(aliceSid, 2)),
      await sign(onShard(alice.id, 2), onShard(aliceSid, 2)),
      await sign(alice.id, bobSid),
      await sign(alice.id, onShard(aliceSid, 9)),
      await sign(alice.id, 'not-a-session-id'),
    ];
    for (const { token } of forged) {
      for (const path of ['/me', '/sessions']) {
        const r = await callOn(workerEnv, path, { token });
        expect(r.status, `${path} ${r.text}`).toBe(401);
      }
    }
    // The genuine one still works.
    expect((await callOn(workerEnv, '/me', { token: (await sign(alice.id, aliceSid)).token })).status).toBe(200);
  });

  it('a password-only token naming another shard’s session is refused (401, never 5xx)', async () => {
    // Attack: a password-only token for alice (shard 1) replayed against shard 2 or a shard that does not exist.
    setNow(NOW);
    const login = await callOn<{ token: string }>(workerEnv, '/login', { json: { username: alice.username, password: PASSWORD } });
    expect(login.status).toBe(200);
    const { sid } = decodeJwtPayload(login.body.token) as { sid: string };
    expect(sid[0]).toBe('1');
    const settings = await getSettings(workerEnv);
    const sign = (sub: string, sessionId: string) => signToken(settings, { sub, username: alice.username, sid: sessionId, authorized: false, amr: ['pwd'] }, NOW, 300);
    for (const token of [await sign(alice.id, onShard(sid, 2)), await sign(onShard(alice.id, 3), onShard(sid, 3)), await sign(alice.id, onShard(sid, 15)), await sign(bob.id, bobSid)]) {
      for (const [path, init] of [['/create-otp', { method: 'POST' }], ['/otp-verify', { json: { code: '123456' } }], ['/qrcode', {}]] as const) {
        const r = await callOn(workerEnv, path, { ...init, token });
        expect(r.status, `${path} ${r.text}`).toBe(401);
      }
    }
    expect((await callOn(workerEnv, '/create-otp', { method: 'POST', token: await sign(alice.id, sid) })).status).toBe(403);
  });

  it('a refresh token naming another shard’s session is refused as unknown (401 invalid_refresh_token)', async () => {
    // Attack: a validly MACed refresh token whose session id is moved to another shard, and a tampered one.
    setNow(NOW);
    const settings = await getSettings(workerEnv);
    const tampered = alice.refreshToken.replace(/^rt1\.1/, 'rt1.2');
    expect(tampered).not.toBe(alice.refreshToken);
    const tokens = [
      await makeRefreshToken(settings.refreshKey, onShard(aliceSid, 2), 0),
      await makeRefreshToken(settings.refreshKey, onShard(aliceSid, 7), 0),
      await makeRefreshToken(settings.refreshKey, onShard(bobSid, 1), 0),
      tampered,
    ];
    const before = await Promise.all(bindings(SHARDS).map((db) => count(db, 'sessions', 'revoked_at IS NOT NULL')));
    for (const refreshToken of tokens) {
      const r = await callOn(workerEnv, '/refresh', { json: { refreshToken } });
      expect(r.status, r.text).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_refresh_token' });
    }
    // Nothing was revoked anywhere: none of them named a session that exists.
    expect(await Promise.all(bindings(SHARDS).map((db) => count(db, 'sessions', 'revoked_at IS NOT NULL')))).toEqual(before);
    const real = await callOn<{ refreshToken: string }>(workerEnv, '/refresh', { json: { refreshToken: bob.refreshToken } });
    expect(real.status, real.text).toBe(200);
    expect(real.body.refreshToken.startsWith(`rt1.${bobSid}.1.`)).toBe(true);
  });

  it('another shard’s session id in DELETE /sessions/:id is 404 and ends nothing', async () => {
    setNow(NOW);
    for (const id of [bobSid, onShard(bobSid, 1), onShard(bobSid, 12)]) {
      expect((await callOn(workerEnv, `/sessions/${id}`, { method: 'DELETE', token: alice.fullToken })).status).toBe(404);
    }
    expect(await count(bindings(SHARDS)[2]!, 'sessions', 'id = ? AND revoked_at IS NULL', bobSid)).toBe(1);
  });

  it('admin routes by id: an id naming another or no shard is 404 not_found, never 5xx', async () => {
    setNow(NOW);
    for (const id of [onShard(alice.id, 2), onShard(alice.id, 4), onShard(alice.id, 15), 'some-id', 'ABCDEF']) {
      for (const action of ['reset-mfa', 'unlock', 'password-reset']) {
        const r = await adminOn(workerEnv, `/admin/users/${id}/${action}`, { json: { reason: 'ticket 1' } });
        expect(r.status, `${id} ${action} ${r.text}`).toBe(404);
      }
    }
  });

  it('a reset token routes to its user’s shard; one naming another or no shard is 401 invalid_reset_token', async () => {
    setNow(NOW);
    const issued = await adminOn<{ resetToken: string }>(workerEnv, `/admin/users/${bob.id}/password-reset`, { json: { reason: 'ticket 2' } });
    expect(issued.status).toBe(201);
    const token = issued.body.resetToken;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Shard 2: the first character's top four of six bits.
    expect(alphabet.indexOf(token[0]!) >> 2).toBe(2);
    const withShard = (shard: number) => alphabet[(shard << 2) | (alphabet.indexOf(token[0]!) & 3)] + token.slice(1);
    const newPassword = 'a brand new passphrase 42';
    // Attack: moving a reset token to another shard, or to one that does not exist.
    for (const forged of [withShard(1), withShard(3), withShard(4), withShard(15), 'short']) {
      const r = await callOn(workerEnv, '/password/reset', { json: { resetToken: forged, newPassword } });
      expect(r.status, r.text).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_reset_token' });
    }
    const r = await callOn(workerEnv, '/password/reset', { json: { resetToken: token, newPassword } });
    expect(r.status, r.text).toBe(200);
    expect((await callOn(workerEnv, '/login', { json: { username: bob.username, password: newPassword } })).status).toBe(200);
  });
});
