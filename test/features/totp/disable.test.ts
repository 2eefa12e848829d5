import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, PASSWORD, setNow, snapshot, totpAt, useRealTime } from '../../helpers';
import {
  expectRevoked,
  fullLogin,
  recoveryRows,
  sessionRows,
  snapshotWithoutThrottles,
  T0,
  throttleRow,
  userRow,
  wrongCode,
  type Verified,
} from './support';

afterEach(useRealTime);

async function disable(token: string, json: unknown) {
  return call<{ ok: boolean }>('/disable-otp', { token, json });
}

/** MFA is off in storage and for the next login, and every session is gone. */
async function expectDisabled(user: { id: string; username: string; secret: string; recoveryCodes: string[] }, now: number, tokens: string[]) {
  const row = await userRow(user.id);
  expect(row.totp_secret).toBeNull();
  expect(row.pending_secret).toBeNull();
  expect(row.pending_expires_at).toBeNull();
  expect(await recoveryRows(user.id)).toEqual([]);
  expect((await sessionRows(user.id)).filter((s) => s.revoked_at === null)).toEqual([]);
  for (const token of tokens) await expectRevoked(token);

  setNow(now);
  const next = await loginUser(user.username);
  expect(next.mfa).toBe('enroll');
  // Neither the old secret nor an old recovery code gets anyone in.
  const oldCode = await call('/otp-verify', { token: next.token, json: { code: await totpAt(user.secret, now) } });
  expect(oldCode.status).toBe(409);
  expect(oldCode.body).toMatchObject({ error: 'mfa_not_enrolled' });
  const oldRec = await call('/otp-verify', { token: next.token, json: { recoveryCode: user.recoveryCodes[0] } });
  expect(oldRec.status).toBe(409);
}

describe('POST /disable-otp', () => {
  it('with a full token and a current code: secret and recovery codes removed, every session revoked, next login enrolls', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    const other = await fullLogin(user.username, user.secret, start + 30);
    setNow(start + 35);
    const midLogin = await loginUser(user.username); // a password-only session on a third device
    // And a pending re-enrollment, which must go too.
    expect((await call('/create-otp', { method: 'POST', token: user.fullToken })).status).toBe(201);

    setNow(start + 60);
    const r = await disable(user.fullToken, { code: await totpAt(user.secret, start + 60) });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true });
    await expectDisabled(user, start + 90, [user.fullToken, other, midLogin.token]);
  });

  it('with a full token and the password: the same', async () => {
    const start = T0 + 305;
    const user = await enrolledUser(start);
    const other = await fullLogin(user.username, user.secret, start + 30);
    const r = await disable(other, { password: PASSWORD });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true });
    await expectDisabled(user, start + 60, [user.fullToken, other]);
  });

  it('a wrong code is 401 invalid_code and a wrong password 401 invalid_credentials; only throttle counters change', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const before = await snapshotWithoutThrottles();

    const badCode = await disable(user.fullToken, { code: wrongCode(await totpAt(user.secret, start + 30)) });
    expect(badCode.status).toBe(401);
    expect(badCode.body).toMatchObject({ error: 'invalid_code' });
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 1 });

    const badPassword = await disable(user.fullToken, { password: `${PASSWORD}!` });
    expect(badPassword.status).toBe(401);
    expect(badPassword.body).toMatchObject({ error: 'invalid_credentials' });
    expect(await throttleRow(`pwd:${user.username.toLowerCase()}`)).toMatchObject({ failures: 1 });

    expect(await snapshotWithoutThrottles()).toBe(before);
    // The failures did not cost the session.
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });

  // Attack: a stolen full token used to guess the code or the password through /disable-otp.
  it('wrong codes share the per-account code budget, and wrong passwords the login budget', async () => {
    const start = T0 + 2105;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const bad = wrongCode(await totpAt(user.secret, start + 30));
    for (let i = 0; i < 5; i++) expect((await disable(user.fullToken, { code: bad })).status).toBe(401);
    const good = await totpAt(user.secret, start + 30);
    const locked = await disable(user.fullToken, { code: good });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('Retry-After')).toBe('30');
    // The same lock holds at /otp-verify.
    const pwd = await loginUser(user.username);
    expect((await call('/otp-verify', { token: pwd.token, json: { code: good } })).status).toBe(429);

    for (let i = 0; i < 10; i++) expect((await disable(user.fullToken, { password: `wrong password ${i}` })).status).toBe(401);
    const lockedPassword = await disable(user.fullToken, { password: PASSWORD });
    expect(lockedPassword.status).toBe(429);
    const login = await call('/login', { json: { username: user.username, password: PASSWORD } });
    expect(login.status).toBe(429);
    expect(Number(login.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await userRow(user.id)).totp_secret).not.toBeNull();
  });

  // Attack: someone who saw the code typed at login (shoulder-surfing, a logged request) reuses it to turn MFA off.
  it('refuses a code from a step already used, such as the one typed to log in', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const loginAt = start + 60;
    const full = await fullLogin(user.username, user.secret, loginAt);
    const before = await snapshotWithoutThrottles();

    setNow(loginAt + 10); // still inside the login code's step
    const replay = await disable(full, { code: await totpAt(user.secret, loginAt) });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_code' });
    // An earlier step's code, still inside the ±1 window, is refused too.
    const earlier = await disable(full, { code: await totpAt(user.secret, loginAt - 30) });
    expect(earlier.status).toBe(401);
    expect(await snapshotWithoutThrottles()).toBe(before);

    // The next step's code is new: it works.
    setNow(loginAt + 30);
    const ok = await disable(full, { code: await totpAt(user.secret, loginAt + 30) });
    expect(ok.status, ok.text).toBe(200);
  });

  // Attack: the same code sent twice at once; both must not pass the replay check.
  it('two simultaneous disables with one code: exactly one 200', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const code = await totpAt(user.secret, start + 30);
    const results = await Promise.all([disable(user.fullToken, { code }), disable(user.fullToken, { code })]);
    const statuses = results.map((r) => r.status).sort();
    // The loser is refused either as a replay (401 invalid_code) or, if it
    // arrived after the winner had revoked the session, as unauthorized.
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBe(401);
    expect((await userRow(user.id)).totp_secret).toBeNull();
  });

  it('bad bodies are 400, a password-only token is 403 mfa_required; nothing stored changes', async () => {
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    const pwd = await loginUser(user.username);
    const code = await totpAt(user.secret, start);
    const before = await snapshot();
    for (const json of [{}, { code, password: PASSWORD }, { code: '12345' }, { code: 'abcdef' }, { password: 42 }, [], null, 'code']) {
      const r = await disable(user.fullToken, json);
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body).toMatchObject({ error: 'validation_failed' });
    }
    const noBody = await call('/disable-otp', { method: 'POST', token: user.fullToken });
    expect(noBody.status).toBe(415);
    const notJson = await call('/disable-otp', { token: user.fullToken, body: '{"code":', headers: { 'Content-Type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: 'invalid_json' });

    const pwdOnly = await disable(pwd.token, { password: PASSWORD });
    expect(pwdOnly.status).toBe(403);
    expect(pwdOnly.body).toMatchObject({ error: 'mfa_required' });
    expect(await snapshot()).toBe(before);
  });

  it('after disabling, enrolling again gives a fresh secret and a fresh set of recovery codes', async () => {
    const start = T0 + 1805;
    const user = await enrolledUser(start);
    expect((await disable(user.fullToken, { password: PASSWORD })).status).toBe(200);
    setNow(start + 30);
    const pwd = await loginUser(user.username);
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: pwd.token });
    expect(created.status).toBe(201);
    expect(created.body.secret).not.toBe(user.secret);
    const ok = await call<Verified>('/otp-verify', { token: pwd.token, json: { code: await totpAt(created.body.secret, start + 30) } });
    expect(ok.status).toBe(200);
    expect(ok.body.recoveryCodes).toHaveLength(10);
    expect(await recoveryRows(user.id)).toHaveLength(10);
  });
});
