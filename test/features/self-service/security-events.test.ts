import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_RETENTION_SECONDS } from '../../../src/core/events';
import { scheduled } from '../../../src/scheduled';
import { call, enrolledUser, loginUser, PASSWORD, registerUser, setNow, totpAt, uniqueName, useRealTime } from '../../helpers';
import { adminCall, fullLogin, injectFault, removeFault, storedEventTypes, T0, type EventJson } from './support';

afterEach(async () => {
  useRealTime();
  await removeFault();
});

type Page = { events: EventJson[]; next: string | null };

/** Runs `action` and returns the event types it added, oldest first. */
async function added(userId: string, action: () => Promise<unknown>): Promise<string[]> {
  const before = (await storedEventTypes(userId)).length;
  await action();
  return (await storedEventTypes(userId)).slice(before);
}

describe('security events: each action leaves exactly its event', () => {
  it('the whole lifecycle, step by step', async () => {
    const start = T0 + 5;
    setNow(start);
    const username = uniqueName();
    const user = await registerUser(username);
    expect(await storedEventTypes(user.id)).toEqual([]);

    let pwd = '';
    expect(await added(user.id, async () => (pwd = (await loginUser(username)).token))).toEqual(['login']);
    let secret = '';
    expect(
      await added(user.id, async () => {
        secret = (await call<{ secret: string }>('/create-otp', { method: 'POST', token: pwd })).body.secret;
      }),
    ).toEqual(['enrollment_started']);
    expect(await added(user.id, () => call('/otp-verify', { token: pwd, json: { code: '000000' } }))).toEqual(['code_failed']);
    let full = '';
    let codes: string[] = [];
    expect(
      await added(user.id, async () => {
        const r = await call<{ token: string; recoveryCodes: string[] }>('/otp-verify', { token: pwd, json: { code: await totpAt(secret, start) } });
        full = r.body.token;
        codes = r.body.recoveryCodes;
      }),
    ).toEqual(['enrollment_confirmed']);

    // A replayed code is refused and recorded as a failure, never as a success.
    setNow(start + 30);
    const pwd2 = (await loginUser(username)).token;
    expect(await added(user.id, async () => call('/otp-verify', { token: pwd2, json: { code: await totpAt(secret, start) } }))).toEqual(['code_failed']);
    expect(await added(user.id, async () => call('/otp-verify', { token: pwd2, json: { code: await totpAt(secret, start + 30) } }))).toEqual(['mfa_verified']);

    setNow(start + 60);
    const pwd3 = (await loginUser(username)).token;
    expect(await added(user.id, () => call('/otp-verify', { token: pwd3, json: { recoveryCode: codes[0] } }))).toEqual(['recovery_code_used']);

    setNow(start + 90);
    full = await fullLogin(username, secret, start + 90);
    expect(await added(user.id, () => call('/recovery-codes', { method: 'POST', token: full }))).toEqual(['recovery_codes_regenerated']);

    // Five wrong codes: five failures, and the fifth sets the lock.
    const pwd4 = (await loginUser(username)).token;
    const failures = await added(user.id, async () => {
      for (let i = 0; i < 5; i++) await call('/otp-verify', { token: pwd4, json: { code: '000000' } });
    });
    expect(failures).toEqual(['code_failed', 'code_failed', 'code_failed', 'code_failed', 'code_failed', 'locked']);
    // A refused attempt during the lock is not a guess: no event.
    expect(await added(user.id, () => call('/otp-verify', { token: pwd4, json: { code: '000000' } }))).toEqual([]);
    expect(await added(user.id, () => adminCall(`/admin/users/${user.id}/unlock`, { json: { reason: 'locked out by a typo' } }))).toEqual(['admin_unlock']);

    expect(await added(user.id, () => call('/password', { token: full, json: { currentPassword: PASSWORD, newPassword: 'the next passphrase' } }))).toEqual([
      'password_changed',
    ]);
    expect(await added(user.id, () => call('/logout', { method: 'POST', token: full }))).toEqual(['session_ended']);

    setNow(start + 150);
    full = await fullLogin(username, secret, start + 150, 'the next passphrase');
    expect(await added(user.id, () => call('/disable-otp', { token: full, json: { password: 'the next passphrase' } }))).toEqual(['mfa_disabled']);

    let resetToken = '';
    expect(
      await added(user.id, async () => {
        resetToken = (await adminCall<{ resetToken: string }>(`/admin/users/${user.id}/password-reset`, { json: { reason: 'forgot it' } })).body.resetToken;
      }),
    ).toEqual(['admin_password_reset_issued']);
    expect(await added(user.id, () => call('/password/reset', { json: { resetToken, newPassword: 'reset passphrase here' } }))).toEqual(['password_reset']);
    expect(await added(user.id, () => adminCall(`/admin/users/${user.id}/reset-mfa`, { json: { reason: 'lost phone' } }))).toEqual(['admin_mfa_reset']);
  });

  it('an event never stores a password, code, token or secret', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    await call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword: 'a secret new passphrase' } });
    const { results } = await env.DB.prepare('SELECT * FROM security_events WHERE user_id = ?').bind(user.id).all();
    const text = JSON.stringify(results);
    for (const secret of [PASSWORD, 'a secret new passphrase', user.secret, user.fullToken, ...user.recoveryCodes]) expect(text).not.toContain(secret);
  });

  it('a failed batch leaves no event, and the change it records did not happen either', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const before = await storedEventTypes(user.id);
    // The session cannot be promoted: the whole /otp-verify batch rolls back.
    setNow(start + 30);
    const pwd = (await loginUser(user.username)).token;
    const afterLogin = await storedEventTypes(user.id);
    expect(afterLogin).toEqual([...before, 'login']);
    await injectFault('BEFORE UPDATE OF authorized ON sessions');
    expect((await call('/otp-verify', { token: pwd, json: { code: await totpAt(user.secret, start + 30) } })).status).toBe(500);
    await removeFault();
    // Nor can a login's session be inserted.
    await injectFault('BEFORE INSERT ON sessions');
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(500);
    expect(await storedEventTypes(user.id)).toEqual(afterLogin);
    await removeFault();

    // The event's own insert fails: the password stays as it was.
    await injectFault("BEFORE INSERT ON security_events WHEN NEW.type = 'password_changed'");
    const r = await call('/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword: 'never stored pass' } });
    expect(r.status).toBe(500);
    await removeFault();
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
    expect(await storedEventTypes(user.id)).not.toContain('password_changed');
  });
});

describe('GET /me/security-events', () => {
  it('shows only the caller’s events, newest first, with truncated IP and user agent', async () => {
    const start = T0 + 1205;
    const alice = await enrolledUser(start);
    const bob = await enrolledUser(start + 1);
    setNow(start + 30);
    await call('/login', { json: { username: bob.username, password: PASSWORD }, headers: { 'CF-Connecting-IP': '203.0.113.77', 'User-Agent': 'BobBrowser/1.0' } });
    await call('/login', { json: { username: alice.username, password: PASSWORD }, headers: { 'CF-Connecting-IP': '2001:db8:abcd:12::1', 'User-Agent': 'AliceBrowser/2.0' } });
    const r = await call<Page>('/me/security-events', { token: alice.fullToken });
    expect(r.status, r.text).toBe(200);
    expect(r.body.events.map((e) => e.type)).toEqual(['login', 'enrollment_confirmed', 'enrollment_started', 'login']);
    expect(r.body.events[0]).toMatchObject({ type: 'login', ip: '2001:db8:abcd::/48', userAgent: 'AliceBrowser/2.0', at: new Date((start + 30) * 1000).toISOString() });
    expect(r.body.next).toBeNull();
    expect(JSON.stringify(r.body)).not.toContain('BobBrowser');
    const mine = await call<Page>('/me/security-events', { token: bob.fullToken });
    expect(mine.body.events[0]).toMatchObject({ ip: '203.0.113.0/24', userAgent: 'BobBrowser/1.0' });
    const aliceIds = new Set(r.body.events.map((e) => e.id));
    expect(mine.body.events.some((e) => aliceIds.has(e.id))).toBe(false);
  });

  it('paging is stable under inserts: no event repeated or skipped while new ones arrive', async () => {
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    // 20 older events, several sharing one second (the tie the cursor's seq breaks).
    const insert = (at: number, type: string) =>
      env.DB.prepare('INSERT INTO security_events (id, user_id, type, at) VALUES (?, ?, ?, ?)').bind(crypto.randomUUID(), user.id, type, at).run();
    for (let i = 0; i < 20; i++) await insert(start - 1000 + Math.floor(i / 4), `mfa_verified`);
    const all = (await call<Page>('/me/security-events?limit=100', { token: user.fullToken })).body.events.map((e) => e.id);
    expect(all).toHaveLength(23);

    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const query: string = before ? `?limit=3&before=${before}` : '?limit=3';
      const page: Page = (await call<Page>(`/me/security-events${query}`, { token: user.fullToken })).body;
      seen.push(...page.events.map((e) => e.id));
      before = page.next;
      pages += 1;
      // New events while paging: one now, one in the very second of the cursor's event.
      await insert(start + 10 + pages, 'login');
      const last = page.events[page.events.length - 1];
      if (last) await insert(Date.parse(last.at) / 1000, 'code_failed');
    } while (before);
    expect(pages).toBe(8);
    expect(seen).toEqual(all);
  });

  it('limit and before are checked: 400 validation_failed, never 5xx', async () => {
    const start = T0 + 1805;
    const user = await enrolledUser(start);
    for (const query of ['?limit=0', '?limit=101', '?limit=abc', '?limit=-1', '?limit=1.5', '?before=%00', '?before=bm9wZQ', `?before=${'A'.repeat(65)}`]) {
      const r = await call(`/me/security-events${query}`, { token: user.fullToken });
      expect(r.status, query).toBe(400);
      expect(r.body).toMatchObject({ error: 'validation_failed' });
    }
    const one = await call<Page>('/me/security-events?limit=1', { token: user.fullToken });
    expect(one.body.events).toHaveLength(1);
    expect(one.body.next).toEqual(expect.any(String));
  });

  it('a password-only token is 403 mfa_required; no token is 401', async () => {
    const start = T0 + 2105;
    const user = await enrolledUser(start);
    const pwd = (await loginUser(user.username)).token;
    expect((await call('/me/security-events', { token: pwd })).body).toMatchObject({ error: 'mfa_required' });
    expect((await call('/me/security-events')).status).toBe(401);
  });

  it('the cron deletes events older than 90 days and keeps the rest', async () => {
    const start = T0 + 2405;
    const user = await enrolledUser(start);
    const kept = (await storedEventTypes(user.id)).length;
    await env.DB.prepare('INSERT INTO security_events (id, user_id, type, at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)')
      .bind(crypto.randomUUID(), user.id, 'login', start - EVENT_RETENTION_SECONDS - 1, crypto.randomUUID(), user.id, 'login', start - EVENT_RETENTION_SECONDS + 60)
      .run();
    const controller = createScheduledController({ scheduledTime: new Date(start * 1000), cron: '17 3 * * *' });
    const ctx = createExecutionContext();
    await scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await storedEventTypes(user.id)).toHaveLength(kept + 1);
  });
});
