/**
 * Attacks on passwordless sign-in (issue 21). Each test names the attack, then checks the
 * answer (always the same 401 invalid_credentials) and that no session was opened.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, loginUser, setNow, snapshot, useRealTime } from '../../helpers';
import { callOn } from '../../shards/support';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { signinWork } from '../../../src/core/passwordless/signin';
import { runCleanup } from '../../../src/scheduled/run';
import { getDb } from '../../../src/db/client';
import { addPasskey, assertionResponse, loginVerify, options, passkeyUser } from './support';
import { freshIp, liveFullSessions, passwordlessSignin, signinAssertion, signinOptions, signinVerify } from './signin-support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

const REFUSED = { error: 'invalid_credentials' };

describe('passwordless sign-in refuses, always with the same 401', () => {
  it('an assertion without UV (the passkey was only touched, not unlocked) is one factor: refused', async () => {
    const user = await passkeyUser(T0);
    const before = await liveFullSessions(user.id);
    // Attack: a stolen or unattended security key, tapped without its PIN.
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp(), { flags: { uv: false } });
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject(REFUSED);
    expect(result.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    expect(await liveFullSessions(user.id)).toBe(before);
  });

  it('a passkey registered without UV stays a second factor: its sign-in is refused, its login step works', async () => {
    const user = await passkeyUser(T0);
    const second = await SoftwareAuthenticator.create(-7);
    // Registered after a touch only (UV = 0): the account's second factor, not a sign-in.
    const added = await addPasskey(user.fullToken, second, { flags: { uv: false } });
    expect(added.status).toBe(201);
    const list = await call<{ credentials: { id: string; passwordless: boolean }[] }>('/webauthn/credentials', { token: user.fullToken });
    expect(list.body.credentials.map((c) => [c.id, c.passwordless])).toEqual([
      [user.credentialId, true],
      [added.body.credential.id, false],
    ]);
    // Attack: UV now set on an assertion by a passkey whose registration never proved a user.
    const { result } = await passwordlessSignin(second, user.id, freshIp());
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject(REFUSED);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(second, user.id, opts))).status).toBe(200);
  });

  it('a user handle naming another user than the credential’s owner is refused', async () => {
    const victim = await passkeyUser(T0);
    const attacker = await passkeyUser(T0);
    // Attack: the attacker's own valid passkey, with the victim's id as the user handle.
    const { result } = await passwordlessSignin(attacker.authenticator, victim.id, freshIp());
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject(REFUSED);
    expect(await liveFullSessions(victim.id)).toBe(1);
    // And no user handle at all: a discoverable credential must name its user (§7.2 step 6).
    const none = await passwordlessSignin(attacker.authenticator, attacker.id, freshIp(), { userHandle: null });
    expect(none.result.status).toBe(401);
  });

  it('a credential of a deleted account is refused', async () => {
    const user = await passkeyUser(T0);
    const deleted = await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: user.password } });
    expect(deleted.status).toBe(204);
    // Attack: the passkey survives on the device after the account is gone.
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject(REFUSED);
    expect(await liveFullSessions(user.id)).toBe(0);
  });

  it('a replayed assertion is refused: the challenge is good once', async () => {
    const user = await passkeyUser(T0);
    const { opts, response, result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    // Attack: a captured assertion sent again (the counter stays 0, as on many passkeys).
    const replay = await signinVerify(opts.challengeId, response, freshIp());
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject(REFUSED);
    expect(await liveFullSessions(user.id)).toBe(2);
  });

  it('a replayed assertion with the challenge id spelled another way ("=" padding) is refused', async () => {
    const user = await passkeyUser(T0);
    const { opts, response, result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    // Attack (second review): base64url decoding takes `X=` for `X`, so the padded id names the
    // same challenge; were the spent table keyed by the text as sent, it would be a fresh row
    // and the captured assertion would open a second session.
    for (const spelling of [`${opts.challengeId}=`, `${opts.challengeId}==`]) {
      const replay = await signinVerify(spelling, response, freshIp());
      expect(replay.status, spelling).toBe(401);
      expect(replay.body).toMatchObject(REFUSED);
    }
    expect(await liveFullSessions(user.id)).toBe(2);
  });

  it('a fresh assertion under a padded spelling of an unspent challenge id is refused too (only the issued spelling counts)', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    const padded = await signinVerify(`${opts.challengeId}=`, response, freshIp());
    expect(padded.status).toBe(401);
    expect(await liveFullSessions(user.id)).toBe(1);
  });

  it('two verifies of one assertion at once: exactly one 200, one new session', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    // Attack: the same assertion twice at once, hoping both pass before either commits.
    const results = await Promise.all([signinVerify(opts.challengeId, response, freshIp()), signinVerify(opts.challengeId, response, freshIp())]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await liveFullSessions(user.id)).toBe(2);
  });

  it('the cron forgets a spent challenge only once it has expired (when its id is refused by its expiry anyway)', async () => {
    const user = await passkeyUser(T0);
    const { opts, response, result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    const spent = async () => (await env.DB.prepare('SELECT count(*) AS n FROM webauthn_signin_spent WHERE challenge_id = ?').bind(opts.challengeId).first<{ n: number }>())!.n;
    await runCleanup(getDb(env.DB), T0 + 299);
    expect(await spent()).toBe(1);
    expect((await signinVerify(opts.challengeId, response, freshIp())).status).toBe(401);
    await runCleanup(getDb(env.DB), T0 + 300);
    expect(await spent()).toBe(0);
    setNow(T0 + 300);
    expect((await signinVerify(opts.challengeId, response, freshIp())).status).toBe(401);
  });

  it('an expired challenge (300 s) is refused; one at 299 s is accepted', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const late = await signinAssertion(user.authenticator, user.id, opts);
    setNow(T0 + 300);
    expect((await signinVerify(opts.challengeId, late, freshIp())).status).toBe(401);
    setNow(T0 + 1000);
    const fresh = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, fresh);
    setNow(T0 + 1299);
    expect((await signinVerify(fresh.challengeId, response, freshIp())).status).toBe(200);
  });

  it('a challenge made for the second-factor step does not work here, nor the other way round', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const secondFactor = await options('login', token);
    // Attack: the login step's challenge (bound to a password-only session) used to sign in with no password.
    const here = await signinVerify(secondFactor.challengeId, await signinAssertion(user.authenticator, user.id, secondFactor), freshIp());
    expect(here.status).toBe(401);
    expect(here.body).toMatchObject(REFUSED);
    // And a sign-in challenge answered at the second-factor step of a password-only session.
    const signin = await signinOptions();
    const there = await loginVerify(token, signin.challengeId, await assertionResponse(user.authenticator, user.id, signin));
    expect(there.status).toBe(401);
    // A sign-in challenge id with the second-factor challenge's bytes signed: the challenge is the id's HMAC, not those.
    const mixed = await signinVerify(signin.challengeId, await signinAssertion(user.authenticator, user.id, secondFactor), freshIp());
    expect(mixed.status).toBe(401);
    // Neither burnt what it did not own: the second-factor challenge still works at its own step.
    expect((await loginVerify(token, secondFactor.challengeId, await assertionResponse(user.authenticator, user.id, secondFactor))).status).toBe(200);
  });

  it('an assertion for another RP ID or origin is refused', async () => {
    const user = await passkeyUser(T0);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp(), { rpId: 'evil.test' })).result.status).toBe(401);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp(), { origin: 'https://evil.test' })).result.status).toBe(401);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp(), { flags: { up: false } })).result.status).toBe(401);
  });

  it('a counter that goes backwards on a device-bound passkey is refused', async () => {
    const user = await passkeyUser(T0, { signCount: 10 });
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp())).result.status).toBe(200);
    // Attack: a cloned authenticator, behind the original's counter.
    const cloned = await passwordlessSignin(user.authenticator, user.id, freshIp(), { signCount: 5 });
    expect(cloned.result.status).toBe(401);
  });
});

describe('an unknown credential costs the same work as a known one (counted, not timed)', () => {
  it('unknown id, a known id with a bad signature, and UV missing each check exactly one signature', async () => {
    const user = await passkeyUser(T0);
    const stranger = await SoftwareAuthenticator.create(-7);
    const cases = {
      unknown: () => passwordlessSignin(stranger, user.id, freshIp(), {}, (path, o) => callOn(env, path, o)),
      otherUser: () => passwordlessSignin(stranger, '0' + crypto.randomUUID().slice(1), freshIp(), {}, (path, o) => callOn(env, path, o)),
      badSignature: () => passwordlessSignin(user.authenticator, user.id, freshIp(), { tamper: true }, (path, o) => callOn(env, path, o)),
      noUv: () => passwordlessSignin(user.authenticator, user.id, freshIp(), { flags: { uv: false } }, (path, o) => callOn(env, path, o)),
    };
    for (const [name, attempt] of Object.entries(cases)) {
      const before = signinWork.signatureChecks;
      const { result } = await attempt();
      expect([name, result.status, result.body]).toEqual([name, 401, expect.objectContaining(REFUSED)]);
      // The dummy key's signature check stands in for the real one: the same work, the same answer.
      expect([name, signinWork.signatureChecks - before]).toEqual([name, 1]);
    }
  });
});

describe('hostile bodies: 400, nothing stored, no budget taken', () => {
  it('malformed JSON, wrong types, missing fields, broken base64url', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const good = await signinAssertion(user.authenticator, user.id, opts);
    const before = await snapshot(['users', 'sessions', 'throttles', 'webauthn_signin_spent', 'security_events', 'webauthn_credentials']);
    const send = (body: string) => call('/webauthn/signin/verify', { body, headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': '192.0.2.9' } });
    expect((await send('{"challengeId":')).body).toMatchObject({ error: 'invalid_json' });
    const bodies: unknown[] = [
      {},
      { challengeId: opts.challengeId },
      { challengeId: 7, response: good },
      { challengeId: opts.challengeId, response: 'x' },
      { challengeId: opts.challengeId, response: [] },
      { challengeId: opts.challengeId, response: { ...good, rawId: '%%%' } },
      { challengeId: opts.challengeId, response: { ...good, response: { ...good.response, signature: 'a' } } },
      { challengeId: opts.challengeId, response: { ...good, response: { ...good.response, authenticatorData: 'AAAA' } } },
      { challengeId: opts.challengeId, response: { ...good, response: { ...good.response, clientDataJSON: 'e30' } } },
      { challengeId: opts.challengeId, response: { ...good, response: { ...good.response, userHandle: '***' } } },
      { challengeId: opts.challengeId, response: { ...good, type: 'password' } },
    ];
    for (const body of bodies) {
      const r = await send(JSON.stringify(body));
      expect([JSON.stringify(body).slice(0, 60), r.status, r.body.error]).toEqual([JSON.stringify(body).slice(0, 60), 400, 'validation_failed']);
    }
    expect(await snapshot(['users', 'sessions', 'throttles', 'webauthn_signin_spent', 'security_events', 'webauthn_credentials'])).toBe(before);
    // The challenge was not burnt by any of them.
    expect((await signinVerify(opts.challengeId, good, freshIp())).status).toBe(200);
  });

  it('options take no body and store nothing', async () => {
    const before = await snapshot(['sessions', 'throttles', 'webauthn_signin_spent', 'webauthn_challenges']);
    const r = await call<{ challengeId: string }>('/webauthn/signin/options', { method: 'POST' });
    expect(r.status).toBe(200);
    expect(await snapshot(['sessions', 'throttles', 'webauthn_signin_spent', 'webauthn_challenges'])).toBe(before);
  });
});
