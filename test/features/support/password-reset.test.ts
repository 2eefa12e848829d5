import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, PASSWORD, setNow, totpAt, useRealTime } from '../../helpers';
import { adminCall, countRows, fullLogin, T0 } from '../self-service/support';

afterEach(useRealTime);

const NEW_PASSWORD = 'reset to this passphrase';

async function issue(userId: string): Promise<string> {
  const r = await adminCall<{ resetToken: string; expiresIn: number }>(`/admin/users/${userId}/password-reset`, { json: { reason: 'forgot the password; identity checked' } });
  expect(r.status, r.text).toBe(201);
  expect(r.body.expiresIn).toBe(3600);
  return r.body.resetToken;
}

describe('password reset through the support desk', () => {
  it('sets the password, ends every session, and the next login still needs the second factor', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    const second = await fullLogin(user.username, user.secret, start + 30);
    const resetToken = await issue(user.id);
    // Stored only as a hash.
    const stored = JSON.stringify((await env.DB.prepare('SELECT * FROM password_resets').all()).results);
    expect(stored).not.toContain(resetToken);
    expect(resetToken.length).toBeGreaterThanOrEqual(43);

    setNow(start + 60);
    const r = await call('/password/reset', { json: { resetToken, newPassword: NEW_PASSWORD } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true });
    // Whoever held a session (perhaps the person who took over the account) is out.
    for (const token of [user.fullToken, second]) expect((await call('/me', { token })).status).toBe(401);
    expect(await countRows('sessions', 'user_id = ? AND revoked_at IS NULL', user.id)).toBe(0);

    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(401);
    // OWASP ASVS 5.0 V6.4.3: a reset must not bypass the second factor.
    const login = await loginUser(user.username, NEW_PASSWORD);
    expect(login.mfa).toBe('verify');
    expect((await call('/me', { token: login.token })).body).toMatchObject({ error: 'mfa_required' });
    expect((await call('/create-otp', { method: 'POST', token: login.token })).body).toMatchObject({ error: 'mfa_already_enabled' });
    const verified = await call('/otp-verify', { token: login.token, json: { code: await totpAt(user.secret, start + 60) } });
    expect(verified.status).toBe(200);
  });

  it('a token works once: used again it is 401 invalid_reset_token, and two uses at once give exactly one 200', async () => {
    // Attack: a reset token seen in transit is replayed after the owner used it.
    const start = T0 + 305;
    const user = await enrolledUser(start);
    const token = await issue(user.id);
    expect((await call('/password/reset', { json: { resetToken: token, newPassword: NEW_PASSWORD } })).status).toBe(200);
    const again = await call('/password/reset', { json: { resetToken: token, newPassword: 'attacker passphrase' } });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: 'invalid_reset_token' });
    expect((await call('/login', { json: { username: user.username, password: NEW_PASSWORD } })).status).toBe(200);

    const racing = await issue(user.id);
    const results = await Promise.all(
      ['first racer pass', 'second racer pass'].map((newPassword) => call('/password/reset', { json: { resetToken: racing, newPassword } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winners = await Promise.all(
      ['first racer pass', 'second racer pass'].map(async (password) => (await call('/login', { json: { username: user.username, password } })).status),
    );
    expect(winners.sort()).toEqual([200, 401]);
  });

  it('a token is good for one hour, not a second longer', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    const late = await issue(user.id);
    setNow(start + 3600);
    const r = await call('/password/reset', { json: { resetToken: late, newPassword: NEW_PASSWORD } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'invalid_reset_token' });
    const inTime = await issue(user.id);
    setNow(start + 3600 + 3599);
    expect((await call('/password/reset', { json: { resetToken: inTime, newPassword: NEW_PASSWORD } })).status).toBe(200);
  });

  it('a token resets only the account it was issued for; a newer token replaces an older one', async () => {
    const start = T0 + 905;
    const alice = await enrolledUser(start);
    const bob = await enrolledUser(start + 1);
    const older = await issue(alice.id);
    const newer = await issue(alice.id);
    expect((await call('/password/reset', { json: { resetToken: older, newPassword: NEW_PASSWORD } })).status).toBe(401);
    expect((await call('/password/reset', { json: { resetToken: newer, newPassword: NEW_PASSWORD } })).status).toBe(200);
    expect((await call('/login', { json: { username: alice.username, password: NEW_PASSWORD } })).status).toBe(200);
    // Bob's password and sessions are untouched.
    expect((await call('/login', { json: { username: bob.username, password: PASSWORD } })).status).toBe(200);
    expect((await call('/login', { json: { username: bob.username, password: NEW_PASSWORD } })).status).toBe(401);
    expect((await call('/me', { token: bob.fullToken })).status).toBe(200);
  });

  it('bad tokens are 401; a weak new password is 400 and leaves the token usable; an unknown user cannot get one', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    for (const resetToken of ['', 'x', 'A'.repeat(43), 'not a token at all']) {
      const r = await call('/password/reset', { json: { resetToken, newPassword: NEW_PASSWORD } });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_reset_token' });
    }
    const token = await issue(user.id);
    const weak = await call('/password/reset', { json: { resetToken: token, newPassword: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.body).toMatchObject({ error: 'weak_password' });
    expect((await call('/password/reset', { json: { resetToken: token, newPassword: user.username } })).body).toMatchObject({ error: 'weak_password' });
    expect((await call('/password/reset', { json: { resetToken: token, newPassword: NEW_PASSWORD } })).status).toBe(200);
    expect((await adminCall('/admin/users/no-such-user/password-reset', { json: { reason: 'x' } })).status).toBe(404);
  });

  it('a password change by the user voids an outstanding reset token', async () => {
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    const token = await issue(user.id);
    expect((await call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword: 'my own new passphrase' } })).status).toBe(200);
    expect((await call('/password/reset', { json: { resetToken: token, newPassword: NEW_PASSWORD } })).status).toBe(401);
  });
});
