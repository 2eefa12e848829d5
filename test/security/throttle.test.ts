import { env } from 'cloudflare:test';
import { setBudget } from '../budget';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, enrolledUser, loginUser, PASSWORD, registerUser, setNow, totpAt, uniqueName, useRealTime } from '../helpers';
import { T0, throttleRow, verifyWith, wrongCode } from './support';

afterEach(useRealTime);

/**
 * AuthQuake (Oasis Security, 2024): Microsoft's 6-digit codes had no effective
 * per-account attempt limit, so parallel sessions brute-forced them within an
 * hour. Here failed codes are counted per account in D1: 5 lock /otp-verify.
 */
describe('AuthQuake: failed codes lock the account, not the session', () => {
  it('locks after 5 failures with Retry-After, doubles each round, and a locked attempt neither counts nor extends', async () => {
    const user = await enrolledUser(T0);
    let now = T0 + 60; // two steps after the enrollment code
    setNow(now);
    const { token } = await loginUser(user.username);
    const key = `otp:${user.id}`;
    const wrong = await wrongCode(user.secret, now);

    for (let i = 1; i <= 5; i++) {
      const r = await verifyWith(token, { code: wrong });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_code');
    }
    expect(await throttleRow(key)).toMatchObject({ failures: 5, locked_until: now + 30 });

    // Even the right code is refused during the lock, before it is looked at.
    const locked = await verifyWith(token, { code: await totpAt(user.secret, now) });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('too_many_requests');
    expect(locked.headers.get('Retry-After')).toBe('30');

    now += 10;
    setNow(now);
    for (let i = 0; i < 3; i++) {
      const r = await verifyWith(token, { code: wrong });
      expect(r.status).toBe(429);
      expect(r.headers.get('Retry-After')).toBe('20');
    }
    // Neither counted nor extended.
    expect(await throttleRow(key)).toMatchObject({ failures: 5, locked_until: T0 + 60 + 30 });

    // After the lock: the next round of five locks for twice as long.
    now = T0 + 60 + 30;
    setNow(now);
    const wrong2 = await wrongCode(user.secret, now);
    for (let i = 1; i <= 5; i++) expect((await verifyWith(token, { code: wrong2 })).status).toBe(401);
    expect(await throttleRow(key)).toMatchObject({ failures: 10, locked_until: now + 60 });
    const second = await verifyWith(token, { code: wrong2 });
    expect(second.status).toBe(429);
    expect(second.headers.get('Retry-After')).toBe('60');

    now += 60;
    setNow(now);
    const wrong3 = await wrongCode(user.secret, now);
    for (let i = 1; i <= 5; i++) expect((await verifyWith(token, { code: wrong3 })).status).toBe(401);
    const third = await verifyWith(token, { code: wrong3 });
    expect(third.status).toBe(429);
    expect(third.headers.get('Retry-After')).toBe('120');
    expect(await throttleRow(key)).toMatchObject({ failures: 15, locked_until: now + 120 });

    // Only a success resets the count.
    now += 120;
    setNow(now);
    const ok = await verifyWith(token, { code: await totpAt(user.secret, now) });
    expect(ok.status).toBe(200);
    expect(await throttleRow(key)).toBeNull();
  });

  it('caps the lock at one hour however many rounds have failed', async () => {
    const user = await enrolledUser(T0 + 3000);
    const now = T0 + 3060;
    setNow(now);
    const { token } = await loginUser(user.username);
    const key = `otp:${user.id}`;
    // Seven rounds already failed (locks of 30 s ... 1920 s), the last one over.
    await setBudget(key, 35, now - 1, now - 1);
    const wrong = await wrongCode(user.secret, now);
    for (let i = 1; i <= 5; i++) expect((await verifyWith(token, { code: wrong })).status).toBe(401);
    // Round 8 would be 30 << 7 = 3840 s: capped at 3600.
    expect(await throttleRow(key)).toMatchObject({ failures: 40, locked_until: now + 3600 });
    const r = await verifyWith(token, { code: wrong });
    expect(r.status).toBe(429);
    expect(r.headers.get('Retry-After')).toBe('3600');

    // Far beyond: 100 rounds still lock for an hour (no shift overflow, no negative lock).
    // Past 100 failures TOTP codes are factor-locked (factor-lock.test.ts); recovery codes still count.
    await setBudget(key, 499, now - 1, now - 1);
    expect((await verifyWith(token, { recoveryCode: 'AAAAA-AAAAA' })).status).toBe(401);
    expect(await throttleRow(key)).toMatchObject({ failures: 500, locked_until: now + 3600 });
  });

  it('logging in again, or another session, does not reset or escape the count', async () => {
    const user = await enrolledUser(T0 + 6000);
    const now = T0 + 6060;
    setNow(now);
    const first = await loginUser(user.username);
    const wrong = await wrongCode(user.secret, now);
    for (let i = 0; i < 4; i++) expect((await verifyWith(first.token, { code: wrong })).status).toBe(401);

    // A fresh password login (a new session) keeps the four failures.
    const second = await loginUser(user.username);
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 4 });
    expect((await verifyWith(second.token, { code: wrong })).status).toBe(401);

    // Locked for every session of the account, including the first one.
    for (const token of [first.token, second.token]) {
      const r = await verifyWith(token, { code: await totpAt(user.secret, now) });
      expect(r.status).toBe(429);
    }
    // A third login neither resets nor unlocks.
    const third = await loginUser(user.username);
    expect((await verifyWith(third.token, { code: await totpAt(user.secret, now) })).status).toBe(429);
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 5, locked_until: now + 30 });
  });

  it('recovery codes draw on the same budget, and a locked recovery code is not spent', async () => {
    const user = await enrolledUser(T0 + 9000);
    const now = T0 + 9060;
    setNow(now);
    const { token } = await loginUser(user.username);
    const wrong = await wrongCode(user.secret, now);
    for (let i = 0; i < 3; i++) expect((await verifyWith(token, { code: wrong })).status).toBe(401);
    for (const recoveryCode of ['AAAAA-AAAAA', 'BBBBB-BBBBB']) {
      const r = await verifyWith(token, { recoveryCode });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_code');
    }
    const locked = await verifyWith(token, { recoveryCode: user.recoveryCodes[0] });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('Retry-After')).toBe('30');
    const unused = await env.DB.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL')
      .bind(user.id)
      .first<{ n: number }>();
    expect(unused?.n).toBe(10);

    // After the lock the recovery code works, and resets the shared count.
    setNow(now + 30);
    const ok = await verifyWith(token, { recoveryCode: user.recoveryCodes[0] });
    expect(ok.status).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
  });

  it('a malformed code (400) is not a guess and does not count', async () => {
    const user = await enrolledUser(T0 + 12_000);
    const now = T0 + 12_060;
    setNow(now);
    const { token } = await loginUser(user.username);
    const wrong = await wrongCode(user.secret, now);
    for (let i = 0; i < 4; i++) expect((await verifyWith(token, { code: wrong })).status).toBe(401);
    const malformed = ['12345', '1234567', '１２３４５６', 'abcdef', '12345x', '', '１２３456'];
    for (const code of malformed) {
      const r = await verifyWith(token, { code });
      expect(r.status, code).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
    expect((await verifyWith(token, { recoveryCode: 'not a code' })).status).toBe(400);
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 4, locked_until: 0 });
    // The fifth real guess is still allowed (and evaluated): the right code passes.
    const ok = await verifyWith(token, { code: await totpAt(user.secret, now) });
    expect(ok.status).toBe(200);
  });
});

/** Online password guessing: the same per-account shape, from 10 failures. */
describe('password guessing locks the username, known or not', () => {
  it('locks after 10 failures; a success before that resets the count', async () => {
    setNow(T0 + 20_000);
    const user = await registerUser();
    const key = `pwd:${user.username.toLowerCase()}`;
    const wrong = { username: user.username, password: 'not the password' };
    for (let i = 0; i < 9; i++) expect((await call('/login', { json: wrong })).status).toBe(401);
    expect(await throttleRow(key)).toMatchObject({ failures: 9 });
    await loginUser(user.username);
    expect(await throttleRow(key)).toBeNull();

    for (let i = 0; i < 10; i++) {
      const r = await call('/login', { json: wrong });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_credentials' });
    }
    const locked = await call('/login', { json: { username: user.username, password: PASSWORD } });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: 'too_many_requests' });
    expect(locked.headers.get('Retry-After')).toBe('30');
    // The look-alike spelling is the same account and the same lock.
    const upper = await call('/login', { json: { username: user.username.toUpperCase(), password: PASSWORD } });
    expect(upper.status).toBe(429);
    expect(await throttleRow(key)).toMatchObject({ failures: 10, locked_until: T0 + 20_000 + 30 });

    setNow(T0 + 20_030);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
  });

  it('an unknown username locks the same way, with the same 429: no enumeration through the lock', async () => {
    setNow(T0 + 30_000);
    const known = await registerUser();
    const unknown = uniqueName('ghost');
    const responses = [];
    const logged = vi.spyOn(console, 'log').mockImplementation(() => {});
    for (const username of [known.username, unknown]) {
      for (let i = 0; i < 10; i++) {
        expect((await call('/login', { json: { username, password: 'wrong password!' } })).status).toBe(401);
      }
      responses.push(await call('/login', { json: { username, password: 'wrong password!' } }));
    }
    const events = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    logged.mockRestore();
    // The lock is a logged security event; the unknown name's carries no user id (and no username).
    expect(events.filter((e) => e.event === 'locked')).toEqual([
      { level: 'info', event: 'locked', userId: known.id, reason: 'pwd', retryAfterSeconds: 30 },
      { level: 'info', event: 'locked', reason: 'pwd', retryAfterSeconds: 30 },
    ]);
    const [a, b] = responses;
    expect(a!.status).toBe(429);
    expect(b!.status).toBe(429);
    expect(b!.text).toBe(a!.text);
    expect(b!.headers.get('Retry-After')).toBe(a!.headers.get('Retry-After'));
    expect(await throttleRow(`pwd:${unknown.toLowerCase()}`)).toMatchObject({ failures: 10 });
    // No user row was made for the unknown name.
    const users = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE username_key = ?').bind(unknown.toLowerCase()).first<{ n: number }>();
    expect(users?.n).toBe(0);
  });
});
