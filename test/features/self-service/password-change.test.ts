import { env } from 'cloudflare:test';
import { budgetRow } from '../../budget';
import { afterEach, describe, expect, it } from 'vitest';
import { call, callOn, enrolledUser, loginUser, PASSWORD, productionCostEnv, setNow, useRealTime } from '../../helpers';
import { countRows, fullLogin, storedEventTypes, T0 } from './support';

afterEach(useRealTime);

const NEW_PASSWORD = 'a brand new passphrase 42';

describe('POST /password', () => {
  it('changes the password: other sessions die, this one lives, the old password is refused and the new one works', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    const other = await fullLogin(user.username, user.secret, start + 30);
    const pending = (await loginUser(user.username)).token;
    setNow(start + 60);
    // At the production cost, so the new hash is stored as a deployment stores it (checked below).
    const r = await callOn(productionCostEnv, '/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true });

    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    // Attack: a thief who learned the old password and opened sessions with it keeps none of them.
    expect((await call('/me', { token: other })).status).toBe(401);
    expect((await call('/create-otp', { method: 'POST', token: pending })).status).toBe(401);

    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(401);
    const fresh = await call<{ mfa: string }>('/login', { json: { username: user.username, password: NEW_PASSWORD } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.mfa).toBe('verify');
    const row = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(user.id).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
    expect((await storedEventTypes(user.id)).filter((type) => type === 'password_changed')).toHaveLength(1);
  });

  it('a wrong current password is 401 and counted on the /login budget; nothing changes', async () => {
    const start = T0 + 305;
    const user = await enrolledUser(start);
    const key = `pwd:${user.username.toLowerCase()}`;
    const r = await call('/password', { token: user.fullToken, json: { currentPassword: 'not the password', newPassword: NEW_PASSWORD } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'invalid_credentials' });
    const throttle = await budgetRow(key);
    expect(throttle?.failures).toBe(1);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
    expect(await storedEventTypes(user.id)).not.toContain('password_changed');
  });

  it('after 10 wrong current passwords the account is locked for /login too (one budget, no extra guesses)', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    for (let i = 0; i < 10; i++) {
      const r = await call('/password', { token: user.fullToken, json: { currentPassword: `wrong ${i}`, newPassword: NEW_PASSWORD } });
      expect(r.status).toBe(401);
    }
    const locked = await call('/login', { json: { username: user.username, password: PASSWORD } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await storedEventTypes(user.id)).filter((type) => type === 'locked')).toHaveLength(1);
  });

  it('a weak new password is 400 weak_password and costs no guess', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    for (const newPassword of ['short', user.username, 'x'.repeat(257)]) {
      const r = await call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword } });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'weak_password' });
    }
    expect(await budgetRow(`pwd:${user.username.toLowerCase()}`)).toBeNull();
  });

  it('a stale auth_time is 401 insufficient_user_authentication with the RFC 9470 challenge', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    setNow(start + 301);
    const r = await call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'insufficient_user_authentication' });
    expect(r.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="insufficient_user_authentication".*max_age=300/);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
  });

  it('two changes at once with the same current password: exactly one wins', async () => {
    // Attack: a thief and the owner race to set their own password; only one can.
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    const results = await Promise.all(
      ['first new passphrase', 'second new passphrase'].map((newPassword) =>
        call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect((await storedEventTypes(user.id)).filter((type) => type === 'password_changed')).toHaveLength(1);
  });
});
