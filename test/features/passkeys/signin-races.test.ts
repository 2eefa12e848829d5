/**
 * Passwordless sign-in (issue 21) against what can change under it: a passkey removed,
 * an account deleted or reset between the options and the verify, or between the
 * verify's read and its commit; the locks of the account's other budgets; and the
 * round trips of a refusal, which must not tell an unknown credential from a known one.
 * Each test names the attack; the answer is always the same 401 and no session opens.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, loginUser, setNow, useRealTime } from '../../helpers';
import { fetchWith, interleavedDb, type Execution } from '../../security/interleave';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { adminCall } from '../self-service/support';
import { addPasskey, assertionResponse, loginVerify, options, passkeyUser } from './support';
import { freshIp, liveFullSessions, passwordlessSignin, signinAssertion, signinOptions, signinVerify } from './signin-support';

const T0 = 1_900_500_000;
afterEach(() => useRealTime());

const REFUSED = { error: 'invalid_credentials' };

/** /webauthn/signin/verify through the app, `hook` run before each of its D1 round trips. */
async function verifyWith(hook: (execution: Execution) => Promise<void> | void, challengeId: string, response: unknown) {
  const r = await fetchWith(interleavedDb(hook), '/webauthn/signin/verify', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': freshIp() },
    body: JSON.stringify({ challengeId, response }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Runs `action` once, just before the verify's commit (the batch that inserts the session). */
function beforeCommit(action: () => Promise<void>) {
  let done = false;
  return async (execution: Execution) => {
    if (done || execution.kind !== 'batch' || !execution.sql.some((sql) => /^insert into "sessions"/i.test(sql.trim()))) return;
    done = true;
    await action();
  };
}

async function sessionRows(userId: string): Promise<number> {
  return (await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').bind(userId).first<{ n: number }>())!.n;
}

/** A passkey user with a second passkey, so either may be removed (the last factor stays). */
async function userWithTwoPasskeys() {
  const user = await passkeyUser(T0);
  const spare = await SoftwareAuthenticator.create(-7);
  expect((await addPasskey(user.fullToken, spare)).status).toBe(201);
  return user;
}

describe('what changes between the options and the commit', () => {
  it('attack: a passkey removed (reported stolen) after the options is refused at the verify', async () => {
    const user = await userWithTwoPasskeys();
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    expect((await call(`/webauthn/credentials/${user.credentialId}`, { method: 'DELETE', token: user.fullToken })).status).toBe(204);
    const before = await liveFullSessions(user.id);
    const r = await signinVerify(opts.challengeId, response, freshIp());
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject(REFUSED);
    expect(await liveFullSessions(user.id)).toBe(before);
  });

  it('attack: a passkey removed after the verify read it and before its commit: the commit’s guard refuses it', async () => {
    const user = await userWithTwoPasskeys();
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    const before = await sessionRows(user.id);
    const r = await verifyWith(
      beforeCommit(async () => {
        expect((await call(`/webauthn/credentials/${user.credentialId}`, { method: 'DELETE', token: user.fullToken })).status).toBe(204);
      }),
      opts.challengeId,
      response,
    );
    expect([r.status, r.body.error]).toEqual([401, 'invalid_credentials']);
    expect(await sessionRows(user.id)).toBe(before);
    // Nothing of the refused commit landed: no passkey_signin event.
    expect((await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE user_id = ? AND type = 'passkey_signin'").bind(user.id).first<{ n: number }>())!.n).toBe(0);
  });

  it('attack: the account is deleted while its passkey’s sign-in is between read and commit: no session outlives the account', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    const r = await verifyWith(
      beforeCommit(async () => {
        expect((await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: user.password } })).status).toBe(204);
      }),
      opts.challengeId,
      response,
    );
    expect([r.status, r.body.error]).toEqual([401, 'invalid_credentials']);
    expect(await sessionRows(user.id)).toBe(0);
    expect(await env.DB.prepare('SELECT id FROM users WHERE id = ?').bind(user.id).first()).toBeNull();
  });

  it('an account deleted right after a sign-in committed takes that session with it', async () => {
    const user = await passkeyUser(T0);
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    expect((await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: user.password } })).status).toBe(204);
    expect((await call('/me', { token: result.body.token })).status).toBe(401);
    expect((await call('/refresh', { json: { refreshToken: result.body.refreshToken } })).status).toBe(401);
  });

  it('attack: support’s MFA reset (the owner lost the device) lands after the options: the old passkey is refused', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const response = await signinAssertion(user.authenticator, user.id, opts);
    expect((await adminCall(`/admin/users/${user.id}/reset-mfa`, { json: { reason: 'device lost, identity checked' } })).status).toBe(200);
    const r = await signinVerify(opts.challengeId, response, freshIp());
    expect(r.status).toBe(401);
    expect(await liveFullSessions(user.id)).toBe(0);
  });
});

describe('the account’s other locks', () => {
  it('an attacker who locks the password and the second-factor passkey step does not lock the owner’s passwordless sign-in; nor does it unlock anything', async () => {
    const user = await passkeyUser(T0);
    setNow(T0 + 1);
    // Ten wrong passwords lock /login for this account.
    for (let i = 0; i < 10; i++) expect((await call('/login', { json: { username: user.username, password: 'not the password at all' } })).status).toBe(401);
    expect((await call('/login', { json: { username: user.username, password: user.password } })).status).toBe(429);
    const pwdLock = await env.DB.prepare('SELECT pwd_failures, pwd_locked_until FROM users WHERE id = ?').bind(user.id).first();
    // The owner, with the passkey that verifies them, still signs in (its own budgets, API.md).
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    expect(decodeJwtPayload(result.body.token).amr).toEqual(['pop', 'mfa']);
    // And the success cleared nothing of the password's lock.
    expect(await env.DB.prepare('SELECT pwd_failures, pwd_locked_until FROM users WHERE id = ?').bind(user.id).first()).toEqual(pwdLock);
    expect((await call('/login', { json: { username: user.username, password: user.password } })).status).toBe(429);
  });

  it('the second-factor step’s passkey lock (webauthn:<user>) is not the sign-in’s, and a sign-in does not clear it', async () => {
    const user = await passkeyUser(T0);
    setNow(T0 + 2);
    const { token } = await loginUser(user.username);
    for (let i = 0; i < 5; i++) {
      const opts = await options('login', token);
      expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
    }
    const locked = await env.DB.prepare('SELECT failures, locked_until FROM throttles WHERE key = ?').bind(`webauthn:${user.id}`).first();
    expect(locked).toMatchObject({ failures: 5 });
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp())).result.status).toBe(200);
    expect(await env.DB.prepare('SELECT failures, locked_until FROM throttles WHERE key = ?').bind(`webauthn:${user.id}`).first()).toEqual(locked);
  });
});

describe('acr: device-bound (BE = 0) or synced (BE = 1), whatever BS says', () => {
  it('a backup-eligible passkey not backed up yet (BE = 1, BS = 0) is phr, not phrh: it may be synced tomorrow', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp(), { flags: { bs: false } });
    expect(result.status).toBe(200);
    expect(decodeJwtPayload(result.body.token).acr).toBe('phr');
  });

  it('attack: a synced passkey’s assertion forged to say BE = 0 (to be counted phrh) is refused', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const forged = await passwordlessSignin(user.authenticator, user.id, freshIp(), { flags: { be: false, bs: false } });
    expect(forged.result.status).toBe(401);
    expect(forged.result.body).toMatchObject(REFUSED);
  });
});

describe('an unknown credential costs the same D1 round trips as a known one', () => {
  it('unknown id, another user’s handle, a bad signature, UV missing: one round trip to read, one to count', async () => {
    const user = await passkeyUser(T0);
    const stranger = await SoftwareAuthenticator.create(-7);
    const cases = {
      unknown: (o: Awaited<ReturnType<typeof signinOptions>>) => signinAssertion(stranger, user.id, o),
      otherHandle: (o: Awaited<ReturnType<typeof signinOptions>>) => signinAssertion(user.authenticator, '0' + crypto.randomUUID().slice(1), o),
      badSignature: (o: Awaited<ReturnType<typeof signinOptions>>) => signinAssertion(user.authenticator, user.id, o, { tamper: true }),
      noUv: (o: Awaited<ReturnType<typeof signinOptions>>) => signinAssertion(user.authenticator, user.id, o, { flags: { uv: false } }),
    };
    const trips: Record<string, number> = {};
    for (const [name, make] of Object.entries(cases)) {
      const opts = await signinOptions();
      let n = 0;
      const r = await verifyWith(() => void (n += 1), opts.challengeId, await make(opts));
      expect([name, r.status, r.body.error]).toEqual([name, 401, 'invalid_credentials']);
      trips[name] = n;
    }
    expect(trips).toEqual({ unknown: 2, otherHandle: 2, badSignature: 2, noUv: 2 });
  });
});
