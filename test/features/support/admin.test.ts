import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { budgetRow } from '../../budget';
import { afterEach, describe, expect, it } from 'vitest';
import app from '../../../src/index';
import { BASE, call, enrolledUser, loginUser, PASSWORD, setNow, totpAt, useRealTime } from '../../helpers';
import { ADMIN_TOKEN, adminCall, countRows, fullLogin, T0, type EventJson } from '../self-service/support';

afterEach(useRealTime);

/** The app called directly with a changed env (a fresh object, so settings load anew). */
async function callWithEnv(changed: Partial<Env>, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...changed }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const ROUTES = [
  ['GET', '/admin/users?username=someone'],
  ['POST', '/admin/users/some-id/reset-mfa'],
  ['POST', '/admin/users/some-id/unlock'],
  ['POST', '/admin/users/some-id/password-reset'],
] as const;

describe('the admin token', () => {
  it('without ADMIN_TOKEN configured every admin route is 404 not_found, whatever is sent', async () => {
    for (const [method, path] of ROUTES) {
      for (const authorization of [undefined, `Bearer ${ADMIN_TOKEN}`]) {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) };
        const r = await callWithEnv({ ADMIN_TOKEN: undefined }, path, { method, headers, body: method === 'POST' ? '{"reason":"x"}' : undefined });
        expect(r.status, path).toBe(404);
        expect(r.body).toMatchObject({ error: 'not_found' });
      }
    }
    // An empty value is "not configured" too.
    expect((await callWithEnv({ ADMIN_TOKEN: '' }, ROUTES[0][1], { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
  });

  it('an ADMIN_TOKEN shorter than 32 characters fails loudly, never as a weak secret', async () => {
    const r = await callWithEnv({ ADMIN_TOKEN: 'short-admin-token' }, ROUTES[0][1], { headers: { Authorization: 'Bearer short-admin-token' } });
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ error: 'internal' });
    expect(JSON.stringify(r.body)).not.toContain('short-admin-token');
  });

  it('no token, a wrong token, another scheme or a user’s access token: 401 with the RFC 6750 challenge', async () => {
    const user = await enrolledUser(T0 + 5);
    const headers = { 'CF-Connecting-IP': '198.51.100.10' };
    // RFC 6750 §3.1: no bearer credentials get a bare challenge; a presented bearer token that is wrong, invalid_token.
    const cases: [string | undefined, string][] = [
      [undefined, 'Bearer'],
      [`Basic ${ADMIN_TOKEN}`, 'Bearer'],
      ['Bearer wrong-token', 'Bearer error="invalid_token"'],
      [`Bearer ${user.fullToken}`, 'Bearer error="invalid_token"'],
    ];
    for (const [authorization, challenge] of cases) {
      const r = await call('/admin/users?username=' + user.username, { headers: { ...headers, ...(authorization ? { Authorization: authorization } : {}) } });
      expect(r.status, authorization).toBe(401);
      expect(r.body).toMatchObject({ error: 'unauthorized' });
      expect(r.headers.get('WWW-Authenticate'), authorization).toBe(challenge);
    }
    // The right token, with the scheme in any case (RFC 9110 §11.1), is accepted.
    const ok = await call(`/admin/users?username=${user.username}`, { headers: { ...headers, Authorization: `bearer ${ADMIN_TOKEN}` } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('wrong admin tokens are throttled per client network: a lock refuses even the right token until it ends', async () => {
    // Attack: guessing ADMIN_TOKEN online.
    setNow(T0 + 305);
    const attacker = { 'CF-Connecting-IP': '192.0.2.66' };
    for (let i = 0; i < 5; i++) expect((await call('/admin/users?username=x', { headers: { ...attacker, Authorization: `Bearer guess-${i}` } })).status).toBe(401);
    const locked = await call('/admin/users?username=x', { headers: { ...attacker, Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(0);
    // Another network is not locked out by this one's guesses.
    expect((await adminCall('/admin/users?username=x', { headers: { 'CF-Connecting-IP': '192.0.3.1' } })).status).toBe(404);
    setNow(T0 + 305 + 31);
    expect((await adminCall('/admin/users?username=x', { headers: attacker })).status).toBe(404);
  });
});

describe('GET /admin/users', () => {
  it('finds an account without regard to case, with its methods and lock state; never a hash or secret', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    const r = await adminCall<Record<string, unknown>>(`/admin/users?username=${encodeURIComponent(user.username.toUpperCase())}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ id: user.id, username: user.username, createdAt: new Date(start * 1000).toISOString(), methods: ['otp'], locked: false });
    const pwd = (await loginUser(user.username)).token;
    for (let i = 0; i < 5; i++) await call('/otp-verify', { token: pwd, json: { code: '000000' } });
    expect((await adminCall(`/admin/users?username=${user.username}`)).body).toMatchObject({ locked: true });
    expect(r.text).not.toMatch(/scrypt|totp|secret/i);
    expect((await adminCall('/admin/users?username=nobody-here')).status).toBe(404);
    expect((await adminCall('/admin/users')).body).toMatchObject({ error: 'validation_failed' });
  });
  it('an unknown user says "No such user.", not "No such route.": a script must not take it for a wrong URL', async () => {
    // Issue 23: an agent that looked up a misspelt username read "No such route."
    // and went looking for the right URL. The code stays 404 not_found (API.md);
    // the words say what was not found. Unknown ids (well-formed or not) say the same.
    const lookups = [
      await adminCall('/admin/users?username=nobody-here'),
      await adminCall('/admin/users/no-such-id/reset-mfa', { json: { reason: 'x' } }),
      await adminCall('/admin/users/0123456789abcdef0123456789abcdef/unlock', { json: { reason: 'x' } }),
      await adminCall('/admin/users/0123456789abcdef0123456789abcdef/password-reset', { json: { reason: 'x' } }),
    ];
    for (const r of lookups) {
      expect(r.status, r.text).toBe(404);
      expect(r.body).toEqual({ error: 'not_found', message: 'No such user.' });
    }
    // A path that is not a route still says so.
    expect((await adminCall('/admin/no-such-thing')).body).toEqual({ error: 'not_found', message: 'No such route.' });
    // Without ADMIN_TOKEN the admin API stays hidden: a bare "No such route.", whatever the username.
    const hidden = await callWithEnv({ ADMIN_TOKEN: undefined }, '/admin/users?username=nobody-here', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(hidden.body).toEqual({ error: 'not_found', message: 'No such route.' });
  });
});

describe('POST /admin/users/{id}/reset-mfa', () => {
  it('removes TOTP and recovery codes, ends every session, clears the code throttle; the next login asks to enroll and the user sees the reason', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const second = await fullLogin(user.username, user.secret, start + 30);
    const pwd = (await loginUser(user.username)).token;
    await call('/otp-verify', { token: pwd, json: { code: '000000' } });
    expect(await budgetRow(`otp:${user.id}`)).toMatchObject({ failures: 1 });

    const r = await adminCall(`/admin/users/${user.id}/reset-mfa`, { json: { reason: 'Lost phone and codes; ID checked by ticket 4711' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true });
    // Unlike Supabase's factor removal, no session survives it.
    for (const token of [user.fullToken, second, pwd]) expect((await call('/me', { token })).status).toBe(401);
    expect(await countRows('sessions', 'user_id = ? AND revoked_at IS NULL', user.id)).toBe(0);
    expect(await countRows('recovery_codes', 'user_id = ?', user.id)).toBe(0);
    expect(await budgetRow(`otp:${user.id}`)).toBeNull();
    const row = await env.DB.prepare('SELECT totp_secret, pending_secret FROM users WHERE id = ?').bind(user.id).first();
    expect(row).toEqual({ totp_secret: null, pending_secret: null });

    setNow(start + 60);
    const login = await loginUser(user.username);
    expect(login.mfa).toBe('enroll');
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: login.token });
    const verified = await call<{ token: string }>('/otp-verify', { token: login.token, json: { code: await totpAt(created.body.secret, start + 60) } });
    const events = await call<{ events: EventJson[] }>('/me/security-events', { token: verified.body.token });
    expect(events.body.events.filter((e) => e.type === 'admin_mfa_reset')).toEqual([
      expect.objectContaining({ reason: 'Lost phone and codes; ID checked by ticket 4711', sessionId: null }),
    ]);
  });

  it('an unknown id is 404; a missing or blank reason is 400 and changes nothing', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    expect((await adminCall('/admin/users/no-such-id/reset-mfa', { json: { reason: 'x' } })).status).toBe(404);
    for (const json of [{}, { reason: '   ' }, { reason: 7 }, { reason: 'x'.repeat(501) }]) {
      const r = await adminCall(`/admin/users/${user.id}/reset-mfa`, { json });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'validation_failed' });
    }
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });
});

describe('POST /admin/users/{id}/unlock', () => {
  it('clears a code lock and a password lock at once', async () => {
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    const pwd = (await loginUser(user.username)).token;
    for (let i = 0; i < 5; i++) await call('/otp-verify', { token: pwd, json: { code: '000000' } });
    for (let i = 0; i < 10; i++) await call('/login', { json: { username: user.username, password: `wrong ${i}` } });
    expect((await call('/otp-verify', { token: pwd, json: { code: await totpAt(user.secret, start) } })).status).toBe(429);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(429);

    const r = await adminCall(`/admin/users/${user.id}/unlock`, { json: { reason: 'confirmed by phone' } });
    expect(r.status, r.text).toBe(200);
    setNow(start + 30);
    expect((await call('/otp-verify', { token: pwd, json: { code: await totpAt(user.secret, start + 30) } })).status).toBe(200);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
    expect((await adminCall('/admin/users/no-such-id/unlock', { json: { reason: 'x' } })).status).toBe(404);
  });
});
