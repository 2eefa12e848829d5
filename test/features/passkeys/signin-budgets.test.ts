/**
 * The budgets of passwordless sign-in (issue 21): failures count per credential and per
 * client network, with the doubling lock schedule, and never against anyone's password or
 * code budget: a flood of unknown credential ids locks nobody out of their account.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { loginUser, setNow, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { passkeyUser } from './support';
import { freshIp, otherBudgets, passwordlessSignin } from './signin-support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

const unknownUserId = () => '0' + crypto.randomUUID().slice(1);

describe('per credential', () => {
  it('5 failures with one credential lock it for 30 s, from any network; the password and code budgets are untouched', async () => {
    const user = await passkeyUser(T0);
    const others = await otherBudgets();
    // Attack: guesses against one known credential id, spread over many networks.
    for (let i = 0; i < 5; i++) {
      expect((await passwordlessSignin(user.authenticator, user.id, freshIp(), { tamper: true })).result.status).toBe(401);
    }
    const locked = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(locked.result.status).toBe(429);
    expect(locked.result.body.error).toBe('too_many_requests');
    expect(locked.result.headers.get('Retry-After')).toBe('30');
    expect(await otherBudgets()).toBe(others);
    // The account itself is not locked: the password and its second factor still work.
    await loginUser(user.username);
    setNow(T0 + 30);
    const after = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(after.result.status).toBe(200);
    // A success clears the credential's count.
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM throttles WHERE key LIKE 'pkcred:%' AND failures > 0").first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });

  it('attempts during the lock neither count nor extend it', async () => {
    const user = await passkeyUser(T0);
    for (let i = 0; i < 5; i++) await passwordlessSignin(user.authenticator, user.id, freshIp(), { tamper: true });
    setNow(T0 + 29);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp(), { tamper: true })).result.status).toBe(429);
    setNow(T0 + 30);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp())).result.status).toBe(200);
  });
});

describe('per client network', () => {
  it('20 unknown credential ids from one network lock that network, not others, and no account', async () => {
    const user = await passkeyUser(T0);
    const others = await otherBudgets();
    const ip = freshIp();
    // Attack: a flood of made-up credentials and user handles from one network.
    for (let i = 0; i < 20; i++) {
      const stranger = await SoftwareAuthenticator.create(-7);
      expect((await passwordlessSignin(stranger, unknownUserId(), ip)).result.status).toBe(401);
    }
    const locked = await passwordlessSignin(user.authenticator, user.id, ip);
    expect(locked.result.status).toBe(429);
    expect(Number(locked.result.headers.get('Retry-After'))).toBe(30);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp())).result.status).toBe(200);
    // Nobody's password or code budget moved, and no per-user passkey budget was written.
    expect(await otherBudgets()).toBe(others);
    await loginUser(user.username);
  });

  it('successes are not counted against the network, and do not wipe its failures', async () => {
    const user = await passkeyUser(T0);
    const ip = freshIp();
    for (let i = 0; i < 19; i++) {
      const stranger = await SoftwareAuthenticator.create(-7);
      expect((await passwordlessSignin(stranger, unknownUserId(), ip)).result.status).toBe(401);
    }
    // People behind one NAT signing in: their successes never lock their network.
    for (let i = 0; i < 3; i++) expect((await passwordlessSignin(user.authenticator, user.id, ip)).result.status).toBe(200);
    // Nor do they reset it: the 20th failure locks.
    expect((await passwordlessSignin(await SoftwareAuthenticator.create(-7), unknownUserId(), ip)).result.status).toBe(401);
    expect((await passwordlessSignin(user.authenticator, user.id, ip)).result.status).toBe(429);
  });

  it('a network lock is answered before any work: nothing counts against a credential meanwhile', async () => {
    const user = await passkeyUser(T0);
    const ip = freshIp();
    for (let i = 0; i < 20; i++) await passwordlessSignin(await SoftwareAuthenticator.create(-7), unknownUserId(), ip);
    const credentialRows = async () => (await env.DB.prepare("SELECT count(*) AS n FROM throttles WHERE key LIKE 'pkcred:%' AND failures > 0").first<{ n: number }>())!.n;
    const before = await credentialRows();
    const spent = async () => (await env.DB.prepare('SELECT count(*) AS n FROM webauthn_signin_spent').first<{ n: number }>())!.n;
    const spentBefore = await spent();
    // Attack: the locked network keeps guessing at a victim's credential, hoping to lock it.
    for (let i = 0; i < 6; i++) expect((await passwordlessSignin(user.authenticator, user.id, ip, { tamper: true })).result.status).toBe(429);
    expect(await credentialRows()).toBe(before);
    // Nor does it write a spent challenge: a locked network's flood stores nothing.
    expect(await spent()).toBe(spentBefore);
    expect((await passwordlessSignin(user.authenticator, user.id, freshIp())).result.status).toBe(200);
  });
});
