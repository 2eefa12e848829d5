import type { SessionView } from '../../../src/features/sessions/session-list';
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, setNow, totpAt, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_970_000_000;


/** A second full session of the same user, from another device. */
async function secondDevice(user: Awaited<ReturnType<typeof enrolledUser>>, at: number, headers: Record<string, string>) {
  setNow(at);
  const login = await call<{ token: string }>('/login', { json: { username: user.username, password: user.password }, headers });
  const verified = await call<{ token: string; refreshToken: string }>('/otp-verify', { token: login.body.token, json: { code: await totpAt(user.secret, at) }, headers });
  expect(verified.status).toBe(200);
  return verified.body;
}

describe('GET /sessions and DELETE /sessions/:id', () => {
  it('lists live sessions newest first with where they began (IP truncated), and marks the current one', async () => {
    const user = await enrolledUser(T0);
    const phone = await secondDevice(user, T0 + 31, { 'User-Agent': 'Phone/1.0', 'CF-Connecting-IP': '203.0.113.77' });
    const laptop = await secondDevice(user, T0 + 62, { 'User-Agent': 'Laptop/2.0', 'CF-Connecting-IP': '2001:db8:abcd:12::1' });
    const r = await call<{ sessions: SessionView[] }>('/sessions', { token: laptop.token });
    expect(r.status).toBe(200);
    const [first, second] = r.body.sessions;
    expect(first).toMatchObject({ current: true, userAgent: 'Laptop/2.0', ip: '2001:db8:abcd::/48', amr: ['pwd', 'otp'] });
    expect(first!.createdAt).toBe(new Date((T0 + 62) * 1000).toISOString());
    expect(first!.expiresAt).toBe(new Date((T0 + 62 + 3600) * 1000).toISOString());
    expect(second).toMatchObject({ current: false, userAgent: 'Phone/1.0', ip: '203.0.113.0/24' });
    // Only live sessions: the password-only sessions used at /otp-verify were retired.
    expect(r.body.sessions.every((s) => s.amr.includes('otp'))).toBe(true);
    expect(r.body.sessions.map((s) => s.id)).toContain(decodeJwtPayload(phone.token).sid);
  });

  it('ends another session of mine (204; its tokens die at once); another user’s or an unknown id is 404 and changes nothing', async () => {
    const user = await enrolledUser(T0);
    const phone = await secondDevice(user, T0 + 31, {});
    const phoneSid = String(decodeJwtPayload(phone.token).sid);
    const other = await enrolledUser(T0 + 40);
    const otherSid = String(decodeJwtPayload(other.fullToken).sid);
    expect((await call(`/sessions/${otherSid}`, { method: 'DELETE', token: user.fullToken })).status).toBe(404);
    expect((await call('/me', { token: other.fullToken })).status).toBe(200);
    expect((await call(`/sessions/${crypto.randomUUID()}`, { method: 'DELETE', token: user.fullToken })).body).toMatchObject({ error: 'not_found' });
    const ended = await call(`/sessions/${phoneSid}`, { method: 'DELETE', token: user.fullToken });
    expect(ended.status).toBe(204);
    expect(ended.text).toBe('');
    expect((await call('/me', { token: phone.token })).status).toBe(401);
    expect((await call('/refresh', { json: { refreshToken: phone.refreshToken } })).status).toBe(401);
    expect((await call(`/sessions/${phoneSid}`, { method: 'DELETE', token: user.fullToken })).status).toBe(404);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });

  it('a password-only token cannot list or end sessions (403), and no token is 401', async () => {
    const user = await enrolledUser(T0);
    const { token } = await loginUser(user.username);
    const sid = String(decodeJwtPayload(user.fullToken).sid);
    expect((await call('/sessions', { token })).status).toBe(403);
    expect((await call(`/sessions/${sid}`, { method: 'DELETE', token })).status).toBe(403);
    expect((await call(`/sessions/${sid}`, { method: 'DELETE' })).status).toBe(401);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });
});

describe('POST /logout scopes', () => {
  it('others: every other session ends, this one stays; all: every one ends; { all: true } still means all', async () => {
    const user = await enrolledUser(T0);
    const phone = await secondDevice(user, T0 + 31, {});
    expect((await call('/logout', { token: user.fullToken, json: { scope: 'others' } })).status).toBe(204);
    expect((await call('/me', { token: phone.token })).status).toBe(401);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    const tablet = await secondDevice(user, T0 + 62, {});
    expect((await call('/logout', { token: tablet.token, json: { all: true } })).status).toBe(204);
    expect((await call('/me', { token: user.fullToken })).status).toBe(401);
    expect((await call('/me', { token: tablet.token })).status).toBe(401);
  });

  it('a password-only token may end only its own session: others/all are 403 mfa_required and change nothing', async () => {
    // An attacker with only the password must not sign the real user out everywhere.
    const user = await enrolledUser(T0);
    const { token } = await loginUser(user.username);
    for (const body of [{ scope: 'all' }, { scope: 'others' }, { all: true }]) {
      const r = await call('/logout', { token, json: body });
      expect(r.status, JSON.stringify(body)).toBe(403);
      expect(r.body).toMatchObject({ error: 'mfa_required' });
    }
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    expect((await call('/logout', { token, json: { scope: 'current' } })).status).toBe(204);
    expect((await call('/create-otp', { method: 'POST', token })).status).toBe(401);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });

  it('a bad scope is 400 validation_failed', async () => {
    const user = await enrolledUser(T0);
    expect((await call('/logout', { token: user.fullToken, json: { scope: 'everyone' } })).body).toMatchObject({ error: 'validation_failed' });
    const row = await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?').bind(decodeJwtPayload(user.fullToken).sid).first();
    expect(row).toEqual({ revoked_at: null });
  });
});
