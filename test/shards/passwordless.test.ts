/**
 * Passwordless sign-in with 4 shards (issues 13 and 21): the request names no username,
 * so the shard comes from the user handle (the user id, which carries it). A credential
 * id is unique per shard only (L3 §7.1 step 27), so it is looked up on that shard and
 * against the owner the handle names, never by id alone.
 */
import { decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtPayload, PASSWORD, setNow, useRealTime } from '../helpers';
import { SoftwareAuthenticator } from '../webauthn/authenticator';
import { freshIp, passwordlessSignin, signinAssertion, signinOptions, signinVerify } from '../features/passkeys/signin-support';
import { ORIGIN, RP_ID } from '../features/passkeys/support';
import { adminOn, bindings, callOn, count, dump, nameOnShard, shardEnv, T0 } from './support';

afterEach(useRealTime);

const SHARDS = 4;
const workerEnv = shardEnv(SHARDS);
const send = (path: string, options: Parameters<typeof callOn>[2]) => callOn(workerEnv, path, options);

/** A user on `shard` whose one second factor is `authenticator`, registered with UV. */
async function passkeyUserOn(shard: number, authenticator: SoftwareAuthenticator) {
  const username = nameOnShard(shard, SHARDS, 'pk');
  const registered = await callOn<{ id: string }>(workerEnv, '/register', { json: { username, password: PASSWORD } });
  const login = await callOn<{ token: string }>(workerEnv, '/login', { json: { username, password: PASSWORD } });
  const opts = await callOn<{ challengeId: string; publicKey: { challenge: string } }>(workerEnv, '/webauthn/register/options', { token: login.body.token, json: {} });
  const response = await authenticator.register(decodeBase64urlIgnorePadding(opts.body.publicKey.challenge), { rpId: RP_ID, origin: ORIGIN });
  const added = await callOn<{ credential: { id: string } }>(workerEnv, '/webauthn/register/verify', { token: login.body.token, json: { challengeId: opts.body.challengeId, response } });
  expect(added.status, added.text).toBe(201);
  return { id: registered.body.id, username };
}

describe('passwordless sign-in across shards', () => {
  it('the session opens on the user’s shard; the other shards see nothing but the primary’s challenge and budgets', async () => {
    setNow(T0);
    for (const shard of [1, 2, 3]) {
      const authenticator = await SoftwareAuthenticator.create(-7);
      const user = await passkeyUserOn(shard, authenticator);
      expect(user.id[0]).toBe(String(shard));
      const dbs = bindings(SHARDS);
      const untouched = dbs.filter((_, k) => k !== shard && k !== 0);
      const before = await Promise.all(untouched.map((db) => dump(db)));
      const primarySessions = await count(dbs[0]!, 'sessions');
      const { result } = await passwordlessSignin(authenticator, user.id, freshIp(), {}, send);
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      const sid = decodeJwtPayload(result.body.token).sid as string;
      expect(await count(dbs[shard]!, 'sessions', 'id = ? AND acr = ? AND amr = ?', sid, 'phrh', 'pop mfa')).toBe(1);
      expect(await count(dbs[shard]!, 'security_events', "user_id = ? AND type = 'passkey_signin'", user.id)).toBe(1);
      expect(await Promise.all(untouched.map((db) => dump(db)))).toEqual(before);
      expect(await count(dbs[0]!, 'sessions')).toBe(primarySessions);
      // The challenge's single use is recorded on the primary, whoever signed in.
      expect(await count(dbs[0]!, 'webauthn_signin_spent')).toBe(shard);
      expect(await count(dbs[shard]!, 'webauthn_signin_spent')).toBe(0);
      expect((await callOn(workerEnv, '/me', { token: result.body.token })).status).toBe(200);
    }
  });

  it('one credential id on two shards: the handle picks the owner, and only that owner’s key signs', async () => {
    setNow(T0 + 100);
    const sharedId = crypto.getRandomValues(new Uint8Array(16));
    const mine = await SoftwareAuthenticator.create(-7, { credentialId: sharedId });
    const theirs = await SoftwareAuthenticator.create(-7, { credentialId: sharedId });
    const a = await passkeyUserOn(1, mine);
    const b = await passkeyUserOn(2, theirs);
    // Attack: B's authenticator, holding the same credential id, claims to be A.
    expect((await passwordlessSignin(theirs, a.id, freshIp(), {}, send)).result.status).toBe(401);
    expect((await passwordlessSignin(mine, b.id, freshIp(), {}, send)).result.status).toBe(401);
    expect((await passwordlessSignin(mine, a.id, freshIp(), {}, send)).result.status).toBe(200);
    expect((await passwordlessSignin(theirs, b.id, freshIp(), {}, send)).result.status).toBe(200);
  });

  it('a user handle naming no shard (or garbage) is the same 401, never a 5xx', async () => {
    setNow(T0 + 200);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const user = await passkeyUserOn(3, authenticator);
    for (const handle of ['a' + user.id.slice(1), 'not-a-user-id', '\u00e9t\u00e9']) {
      const opts = await signinOptions(send);
      const response = await signinAssertion(authenticator, user.id, opts, { userHandle: new TextEncoder().encode(handle) });
      const r = await signinVerify(opts.challengeId, response, freshIp(), send);
      expect([handle, r.status, r.body.error]).toEqual([handle, 401, 'invalid_credentials']);
    }
    // Not UTF-8 at all.
    const opts = await signinOptions(send);
    const response = await signinAssertion(authenticator, user.id, opts, { userHandle: Uint8Array.of(0xff, 0xfe) });
    expect((await signinVerify(opts.challengeId, response, freshIp(), send)).status).toBe(401);
  });

  it('two verifies at once on a user off the primary: exactly one 200', async () => {
    setNow(T0 + 300);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const user = await passkeyUserOn(2, authenticator);
    const opts = await signinOptions(send);
    const response = await signinAssertion(authenticator, user.id, opts);
    const results = await Promise.all([signinVerify(opts.challengeId, response, freshIp(), send), signinVerify(opts.challengeId, response, freshIp(), send)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await count(bindings(SHARDS)[2]!, 'sessions', 'user_id = ? AND acr IS NOT NULL', user.id)).toBe(1);
  });

  it('attack: a passkey on shard 2 held at 429 by forged assertions; support’s unlock clears its budget on the primary', async () => {
    // The story (test/features/support/unlock-passwordless-lock.test.ts): the per-credential
    // budget lives on the primary, the account on its shard; unlock cleared only the shard.
    setNow(T0 + 400);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const user = await passkeyUserOn(2, authenticator);
    const failing = () => count(bindings(SHARDS)[0]!, 'throttles', "key LIKE 'pkcred:%' AND failures > 0");
    const before = await failing();
    for (let i = 0; i < 5; i++) expect((await passwordlessSignin(authenticator, user.id, freshIp(), { tamper: true }, send)).result.status).toBe(401);
    expect((await passwordlessSignin(authenticator, user.id, freshIp(), {}, send)).result.status).toBe(429);
    expect((await adminOn<{ locked: boolean }>(workerEnv, `/admin/users?username=${encodeURIComponent(user.username)}`)).body.locked).toBe(true);
    expect((await adminOn(workerEnv, `/admin/users/${user.id}/unlock`, { json: { reason: 'ticket 21' } })).status).toBe(200);
    expect(await failing()).toBe(before);
    expect((await passwordlessSignin(authenticator, user.id, freshIp(), {}, send)).result.status).toBe(200);
  });
});
