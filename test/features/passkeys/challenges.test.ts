/**
 * Attacks on the passkey challenge and the ceremonies' binding: each test names the
 * attack, then checks the answer and what is stored.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, loginUser, registerUser, setNow, snapshot, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { addPasskey, assertionResponse, challengeCount, loginVerify, options, passkeyLogin, passkeyUser, registerResponse } from './support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

const sessionsOf = async (userId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND authorized = 1 AND revoked_at IS NULL').bind(userId).first<{ n: number }>())!.n;

describe('passkey challenges: good once, for one session and purpose, 5 minutes', () => {
  it('two parallel verifies of one assertion: exactly one 200, one new session', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    const response = await assertionResponse(user.authenticator, user.id, opts);
    const before = await sessionsOf(user.id);
    // Attack: the same assertion sent twice at once, hoping both pass the check before either commits.
    const results = await Promise.all([loginVerify(token, opts.challengeId, response), loginVerify(token, opts.challengeId, response)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await sessionsOf(user.id)).toBe(before + 1);
  });

  it('an assertion replayed after its success is refused', async () => {
    const user = await passkeyUser(T0);
    const { token, opts, response, result } = await passkeyLogin(user);
    expect(result.status).toBe(200);
    // Attack: a captured assertion replayed (the password-only session is retired too, so log in again).
    expect((await loginVerify(token, opts.challengeId, response)).status).toBe(401);
    const { token: again } = await loginUser(user.username);
    expect((await loginVerify(again, opts.challengeId, response)).status).toBe(401);
  });

  it('a failed attempt burns the challenge: a correct second try with it is refused', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
    // Attack: many tries against one challenge. The good response now needs new options.
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts))).status).toBe(401);
    const fresh = await options('login', token);
    expect((await loginVerify(token, fresh.challengeId, await assertionResponse(user.authenticator, user.id, fresh))).status).toBe(200);
  });

  it('an expired challenge (300 s) is refused, one at 299 s is accepted', async () => {
    const user = await passkeyUser(T0);
    setNow(T0 + 1000);
    const { token } = await loginUser(user.username);
    const late = await options('login', token);
    const response = await assertionResponse(user.authenticator, user.id, late);
    setNow(T0 + 1000 + 300);
    // Attack: a response held back (or a challenge harvested) and used after its lifetime.
    expect((await loginVerify(token, late.challengeId, response)).status).toBe(401);
    setNow(T0 + 1100);
    const { token: t2 } = await loginUser(user.username);
    const ok = await options('login', t2);
    const r2 = await assertionResponse(user.authenticator, user.id, ok);
    setNow(T0 + 1100 + 299);
    expect((await loginVerify(t2, ok.challengeId, r2)).status).toBe(200);
  });

  it('a challenge of another session is refused (and not burnt by the other session)', async () => {
    const user = await passkeyUser(T0);
    const { token: mine } = await loginUser(user.username);
    const { token: other } = await loginUser(user.username);
    const opts = await options('login', mine);
    const response = await assertionResponse(user.authenticator, user.id, opts);
    // Attack: a challenge issued to one session redeemed by another (e.g. a phished password-only token).
    expect((await loginVerify(other, opts.challengeId, response)).status).toBe(401);
    expect((await loginVerify(mine, opts.challengeId, response)).status).toBe(200);
  });

  it('a registration challenge used at login is refused (another purpose)', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const regOpts = await options('register', token);
    // The user enrolls with this challenge's sibling... here: the registration challenge id at login/verify.
    const stray = await authenticator.assert(regOpts.challenge, { rpId: 'mfa.test', origin: 'https://mfa.test', userHandle: null });
    expect((await loginVerify(token, regOpts.challengeId, stray)).status).toBe(401);
    // The challenge was burnt by the failed attempt: the registration needs new options.
    const register = await call('/webauthn/register/verify', { token, json: { challengeId: regOpts.challengeId, response: await registerResponse(authenticator, regOpts) } });
    expect(register.status).toBe(401);
  });

  it('a login challenge used at registration is refused', async () => {
    const user = await passkeyUser(T0);
    const loginOpts = await options('login', user.fullToken); // a full token: a step-up challenge
    const response = await registerResponse(await SoftwareAuthenticator.create(-7), loginOpts);
    expect((await call('/webauthn/register/verify', { token: user.fullToken, json: { challengeId: loginOpts.challengeId, response } })).status).toBe(401);
  });

  it('another user’s credential is refused at login', async () => {
    const alice = await passkeyUser(T0);
    const mallory = await passkeyUser(T0);
    const { token } = await loginUser(alice.username);
    const opts = await options('login', token);
    // Attack: Alice's password, then Mallory's own passkey (valid, but not Alice's).
    const response = await assertionResponse(mallory.authenticator, alice.id, opts);
    const before = await snapshot(['sessions']);
    expect((await loginVerify(token, opts.challengeId, response)).status).toBe(401);
    expect(await snapshot(['sessions'])).toBe(before);
  });

  it('a userHandle that is not the user’s is refused', async () => {
    const user = await passkeyUser(T0);
    expect((await passkeyLogin(user, { userHandle: new Uint8Array(36).fill(7) })).result.status).toBe(401);
    expect((await passkeyLogin(user, { userHandle: null })).result.status).toBe(200);
  });

  it('a logout between options and verify: 401, no session opened', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    const response = await assertionResponse(user.authenticator, user.id, opts);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(204);
    const before = await sessionsOf(user.id);
    const r = await loginVerify(token, opts.challengeId, response);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'unauthorized' });
    expect(await sessionsOf(user.id)).toBe(before);
  });

  it('a logout between register options and verify: 401, nothing stored', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    const opts = await options('register', token);
    const response = await registerResponse(await SoftwareAuthenticator.create(-7), opts);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(204);
    expect((await call('/webauthn/register/verify', { token, json: { challengeId: opts.challengeId, response } })).status).toBe(401);
    expect((await env.DB.prepare('SELECT count(*) AS n FROM webauthn_credentials WHERE user_id = ?').bind(user.id).first<{ n: number }>())!.n).toBe(0);
  });

  it('new options replace the session’s earlier challenge of the same purpose', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const first = await options('login', token);
    const count = await challengeCount();
    await options('login', token);
    expect(await challengeCount()).toBe(count);
    expect((await loginVerify(token, first.challengeId, await assertionResponse(user.authenticator, user.id, first))).status).toBe(401);
  });
});

describe('passkeys: origin, RP ID and framing come from configuration only', () => {
  const forged = { Origin: 'https://evil.test', Host: 'evil.test', 'X-Forwarded-Host': 'evil.test' };

  it('registration with a wrong origin or RP ID hash is refused, whatever Origin header is sent', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    // Attack: a phishing site on evil.test relays the ceremony and forges the request headers to match.
    const cases = [{ origin: 'https://evil.test' }, { rpId: 'evil.test' }, { origin: 'https://mfa.test.evil.test' }, { origin: 'http://mfa.test' }, { crossOrigin: true }];
    for (const forge of cases) {
      const r = await addPasskey(token, await SoftwareAuthenticator.create(-7), forge, { ...forged, Origin: forge.origin ?? forged.Origin });
      expect(r.status, JSON.stringify(forge)).toBe(401);
    }
    expect((await env.DB.prepare('SELECT count(*) AS n FROM webauthn_credentials WHERE user_id = ?').bind(user.id).first<{ n: number }>())!.n).toBe(0);
  });

  it('login with a wrong origin, RP ID hash or crossOrigin true is refused, whatever Origin header is sent', async () => {
    const user = await passkeyUser(T0);
    const cases = [{ origin: 'https://evil.test' }, { rpId: 'evil.test' }, { crossOrigin: true }, { topOrigin: 'https://evil.test' }, { type: 'webauthn.create' }];
    for (const forge of cases) {
      const { token } = await loginUser(user.username);
      const opts = await options('login', token);
      const response = await assertionResponse(user.authenticator, user.id, opts, forge);
      const r = await loginVerify(token, opts.challengeId, response, { ...forged, Origin: forge.origin ?? forged.Origin });
      expect(r.status, JSON.stringify(forge)).toBe(401);
    }
  });

  it('a credential id registered once cannot be registered again, by anyone', async () => {
    const alice = await passkeyUser(T0);
    setNow(T0);
    const bob = await registerUser();
    const { token } = await loginUser(bob.username);
    // Attack: Bob registers Alice's credential id with his own key, to hijack her assertions' routing.
    const clone = await SoftwareAuthenticator.create(-7, { credentialId: Uint8Array.from(atob(alice.credentialId.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)) });
    expect((await addPasskey(token, clone)).status).toBe(401);
    const row = await env.DB.prepare('SELECT user_id FROM webauthn_credentials WHERE id = ?').bind(alice.credentialId).first<{ user_id: string }>();
    expect(row!.user_id).toBe(alice.id);
  });
});
