import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword, PRODUCTION_PARAMS } from '../../src/crypto/password';
import { call, callOn, enrolledUser, loginUser, PASSWORD, productionCostEnv, setNow, snapshot, totpAt, useRealTime } from '../helpers';
import { assertionResponse, challengeCount, credentialRow, loginVerify, options, passkeyUser } from '../features/passkeys/support';
import { expectLive, recoveryRows, sessionRows, snapshotWithoutThrottles, T0, userRow, type Verified } from '../features/totp/support';

/**
 * D1 has no interactive transactions; every multi-row change is one
 * db.batch(), which D1 runs as one transaction. These tests make one
 * statement part-way through a batch fail (a trigger that RAISEs) and check
 * that nothing of the batch stayed: the old state is whole, and the same
 * request succeeds once the fault is gone. An injected storage fault is a
 * server fault, so 500 internal is the right answer to it.
 */

const TRIGGER = 'lifecycle_fault';

async function injectFault(when: string): Promise<void> {
  await env.DB.prepare(`CREATE TRIGGER ${TRIGGER} ${when} BEGIN SELECT RAISE(ABORT, 'injected fault'); END`).run();
}

async function removeFault(): Promise<void> {
  await env.DB.prepare(`DROP TRIGGER IF EXISTS ${TRIGGER}`).run();
}

afterEach(async () => {
  useRealTime();
  await removeFault();
});

function expectInternal(r: { status: number; body: unknown; text: string }) {
  expect(r.status).toBe(500);
  expect(r.body).toMatchObject({ error: 'internal' });
  expect(r.text).not.toMatch(/injected fault|trigger|at .*\.ts/i);
}

describe('a failure part-way through a batch leaves the old state whole', () => {
  it('re-enrollment: a failed insert of the new recovery codes keeps the old secret, the pending one, the old codes and the sessions', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(created.status).toBe(201);
    const before = await snapshotWithoutThrottles();
    const code = await totpAt(created.body.secret, start + 30);

    // The swap of secrets and the session changes come before this statement in the batch.
    await injectFault('BEFORE INSERT ON recovery_codes');
    expectInternal(await call('/otp-verify', { token: user.fullToken, json: { code } }));
    expect(await snapshotWithoutThrottles()).toBe(before);
    const row = await userRow(user.id);
    expect(row.pending_secret).not.toBeNull();
    expect(row.totp_secret).not.toBe(row.pending_secret);
    await removeFault();

    // The old secret and an old recovery code still work, and the presenting session is live.
    await expectLive(user.fullToken);
    setNow(start + 60);
    const pwd = await loginUser(user.username);
    const old = await call('/otp-verify', { token: pwd.token, json: { code: await totpAt(user.secret, start + 60) } });
    expect(old.status).toBe(200);
    const pwd2 = await loginUser(user.username);
    expect((await call('/otp-verify', { token: pwd2.token, json: { recoveryCode: user.recoveryCodes[0] } })).status).toBe(200);

    // With the fault gone, the very same code confirms: its step was never recorded.
    setNow(start + 30);
    const confirmed = await call<Verified>('/otp-verify', { token: user.fullToken, json: { code } });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body.recoveryCodes).toHaveLength(10);
  });

  it('disable-otp: a failed session revocation keeps the secret, the recovery codes and every session', async () => {
    const start = T0 + 305;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const code = await totpAt(user.secret, start + 30);
    const before = await snapshotWithoutThrottles();

    // Clearing the secret and deleting the codes come before this statement in the batch.
    await injectFault('BEFORE UPDATE ON sessions');
    expectInternal(await call('/disable-otp', { token: user.fullToken, json: { code } }));
    expectInternal(await call('/disable-otp', { token: user.fullToken, json: { password: PASSWORD } }));
    expect(await snapshotWithoutThrottles()).toBe(before);
    expect((await userRow(user.id)).totp_secret).not.toBeNull();
    expect(await recoveryRows(user.id)).toHaveLength(10);
    await removeFault();

    await expectLive(user.fullToken);
    // The code was not spent by the failed attempt: it disables now.
    const ok = await call('/disable-otp', { token: user.fullToken, json: { code } });
    expect(ok.status, ok.text).toBe(200);
    expect((await userRow(user.id)).totp_secret).toBeNull();
  });

  it('regeneration: a failed insert of the new set keeps the old set', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    const before = await snapshotWithoutThrottles();
    // The old set is deleted by the statement before this one.
    await injectFault('BEFORE INSERT ON recovery_codes');
    expectInternal(await call('/recovery-codes', { method: 'POST', token: user.fullToken }));
    expect(await snapshotWithoutThrottles()).toBe(before);
    await removeFault();

    const me = await call<{ recoveryCodesRemaining: number }>('/me', { token: user.fullToken });
    expect(me.body.recoveryCodesRemaining).toBe(10);
    const pwd = await loginUser(user.username);
    expect((await call('/otp-verify', { token: pwd.token, json: { recoveryCode: user.recoveryCodes[0] } })).status).toBe(200);
  });

  it('recovery-code login: a failure after the new session is inserted leaves no session and the code unused', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const pwd = await loginUser(user.username);
    const before = await snapshotWithoutThrottles();
    // The batch inserts the session first, then marks the code used.
    await injectFault('BEFORE UPDATE ON recovery_codes');
    expectInternal(await call('/otp-verify', { token: pwd.token, json: { recoveryCode: user.recoveryCodes[0] } }));
    expect(await snapshotWithoutThrottles()).toBe(before);
    expect((await sessionRows(user.id)).filter((s) => s.authorized === 1)).toHaveLength(1);
    await removeFault();

    const ok = await call('/otp-verify', { token: pwd.token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('passkey login: a failure after the promotion and the counter update leaves the session password-only, the counter and the challenge as they were', async () => {
    const start = T0 + 1505;
    const user = await passkeyUser(start);
    setNow(start + 10);
    const pwd = await loginUser(user.username);
    const opts = await options('login', pwd.token);
    const response = await assertionResponse(user.authenticator, user.id, opts);
    const before = await snapshot(['users', 'sessions', 'recovery_codes', 'webauthn_credentials', 'webauthn_challenges']);
    // The batch promotes the session and updates the counter first, then spends the challenge.
    await injectFault('BEFORE DELETE ON webauthn_challenges');
    expectInternal(await loginVerify(pwd.token, opts.challengeId, response));
    expect(await snapshot(['users', 'sessions', 'recovery_codes', 'webauthn_credentials', 'webauthn_challenges'])).toBe(before);
    expect(await challengeCount()).toBe(1);
    await removeFault();

    // The same assertion now lands: the challenge was never spent, the counter never moved.
    const ok = await loginVerify(pwd.token, opts.challengeId, response);
    expect(ok.status, ok.text).toBe(200);
    expect((await credentialRow(user.credentialId))!.sign_count).toBe(user.authenticator.signCount);
    expect(await challengeCount()).toBe(0);
  });

  it('login with a hash upgrade: a failed re-hash write leaves no session and the old hash', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    const weak = await hashPassword(PASSWORD, { logN: 10, r: 8, p: 1 });
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(weak, user.id).run();
    const before = await snapshotWithoutThrottles();
    await injectFault('BEFORE UPDATE OF password_hash ON users');
    // At the production cost (the pool's lowered one is below the weak hash): the login re-hashes to ln=14.
    const login = () => callOn(productionCostEnv, '/login', { json: { username: user.username, password: PASSWORD } });
    expect(PRODUCTION_PARAMS).toEqual({ logN: 14, r: 8, p: 5 });
    expectInternal(await login());
    expect(await snapshotWithoutThrottles()).toBe(before);
    await removeFault();
    expect((await login()).status).toBe(200);
    expect((await userRow(user.id)).password_hash).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
  });
});
