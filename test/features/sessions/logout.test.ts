import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, registerUser, setNow, snapshot, useRealTime } from '../../helpers';
import { expectLive, expectRevoked, fullLogin, sessionRows, T0 } from '../totp/support';

afterEach(useRealTime);

async function logout(token: string, options: { json?: unknown; body?: string; headers?: Record<string, string> } = {}) {
  return call('/logout', { method: 'POST', token, ...options });
}

function expectNoContent(r: { status: number; text: string }) {
  expect(r.status).toBe(204);
  expect(r.text).toBe('');
}

describe('POST /logout', () => {
  it('revokes only the presented session, with no body or with {} or {"all": false}', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    const a = await fullLogin(user.username, user.secret, start + 30);
    const b = await fullLogin(user.username, user.secret, start + 60);
    const c = await fullLogin(user.username, user.secret, start + 90);

    expectNoContent(await logout(a));
    await expectRevoked(a);
    expectNoContent(await logout(b, { json: {} }));
    await expectRevoked(b);
    expectNoContent(await logout(c, { json: { all: false } }));
    await expectRevoked(c);

    // The first device is still signed in.
    await expectLive(user.fullToken);
    // A revoked token cannot log out again (or do anything else).
    await expectRevoked(a, '/logout');
    // Of the four full sessions, exactly the three logged out are revoked.
    const full = (await sessionRows(user.id)).filter((s) => s.authorized === 1);
    expect(full).toHaveLength(4);
    expect(full.filter((s) => s.revoked_at !== null)).toHaveLength(3);
  });

  it('with an empty body and a JSON content type it still logs out this session', async () => {
    const start = T0 + 305;
    const user = await enrolledUser(start);
    expectNoContent(await logout(user.fullToken, { headers: { 'Content-Type': 'application/json' } }));
    await expectRevoked(user.fullToken);
  });

  it('a password-only token may log out, which ends the half-finished login', async () => {
    setNow(T0 + 605);
    const user = await registerUser();
    const pwd = await loginUser(user.username);
    expectNoContent(await logout(pwd.token));
    const r = await call('/create-otp', { method: 'POST', token: pwd.token });
    expect(r.status).toBe(401);
  });

  it('{"all": true} revokes every session of the user, full and password-only, and no one else\'s', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const second = await fullLogin(user.username, user.secret, start + 30);
    const pending = await loginUser(user.username);
    const someoneElse = await enrolledUser(start + 30);

    expectNoContent(await logout(second, { json: { all: true } }));
    for (const token of [user.fullToken, second]) await expectRevoked(token);
    expect((await call('/otp-verify', { token: pending.token, json: { code: '123456' } })).status).toBe(401);
    expect((await sessionRows(user.id)).filter((s) => s.revoked_at === null)).toEqual([]);

    await expectLive(someoneElse.fullToken);
    // Logging in again works as before.
    await expectLive(await fullLogin(user.username, user.secret, start + 60));
  });

  it('invalid bodies are 400 (or 415 for another type) and revoke nothing', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    const before = await snapshot();
    for (const json of [{ all: 'yes' }, { all: 1 }, { all: null }, [], null, true, 'all', 0]) {
      const r = await logout(user.fullToken, { json });
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body).toMatchObject({ error: 'validation_failed' });
    }
    const broken = await logout(user.fullToken, { body: '{"all": tru', headers: { 'Content-Type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ error: 'invalid_json' });
    const text = await logout(user.fullToken, { body: 'all=true', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ error: 'unsupported_media_type' });
    expect(await snapshot()).toBe(before);
    await expectLive(user.fullToken);
  });

  it('without a valid token: 401 with the Bearer challenge', async () => {
    const none = await call('/logout', { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer');
    await expectRevoked('not.a.jwt', '/logout');
  });
});
