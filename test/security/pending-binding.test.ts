import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, registerUser, setNow, snapshot, totpAt, useRealTime } from '../helpers';
import { fetchWith, interleavedDb } from './interleave';
import { T0, verifyWith } from './support';

afterEach(useRealTime);

/**
 * Shadow enrollment (issue 14): while the owner scans the QR code, someone with
 * only the password logs in a second time and reads the same pending secret
 * from GET /qrcode; once the owner confirms it, password plus the copied secret
 * pass MFA forever. A pending secret is bound to the session that made it
 * (API.md, Enrollment): no other session reads or confirms it.
 */
describe('a pending enrollment is bound to the session that created it', () => {
  it('a second password-only login reads nothing and cannot confirm; the owner still can', async () => {
    setNow(T0);
    const user = await registerUser();
    const owner = await loginUser(user.username);
    const created = await call<{ secret: string; uri: string }>('/create-otp', { method: 'POST', token: owner.token });
    expect(created.status).toBe(201);

    const attacker = await loginUser(user.username);
    const before = await snapshot();
    for (const accept of ['application/json', 'image/svg+xml']) {
      const read = await call('/qrcode', { token: attacker.token, headers: { Accept: accept } });
      expect(read.status).toBe(404);
      expect(read.body.error).toBe('no_pending_enrollment');
      expect(read.text).not.toContain(created.body.secret);
    }
    // Even with the right code (copied over the owner's shoulder), the attacker's session confirms nothing.
    const code = await totpAt(created.body.secret, T0);
    const confirm = await verifyWith(attacker.token, { code });
    expect(confirm.status).toBe(409);
    expect(confirm.body.error).toBe('mfa_not_enrolled');
    // Nothing changed: no session, no counted attempt, the pending secret untouched.
    expect(await snapshot()).toBe(before);

    // The owner reads and confirms it.
    const mine = await call<{ uri: string }>('/qrcode', { token: owner.token });
    expect(mine.status).toBe(200);
    expect(mine.body.uri).toBe(created.body.uri);
    const ok = await verifyWith(owner.token, { code });
    expect(ok.status).toBe(200);
  });

  it('the commit guard checks the binding too: a binding moved between the read and the commit confirms nothing', async () => {
    setNow(T0 + 600);
    const user = await registerUser();
    const owner = await loginUser(user.username);
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: owner.token });
    const code = await totpAt(created.body.secret, T0 + 600);
    // Lands right before /otp-verify's commit batch (its first statement promotes the session).
    let injected = false;
    const db = interleavedDb(async ({ kind, sql }) => {
      if (kind === 'batch' && /^update "sessions" set "authorized"/i.test(sql[0] ?? '') && !injected) {
        injected = true;
        await env.DB.prepare("UPDATE users SET pending_session_id = 'another-session' WHERE id = ?").bind(user.id).run();
      }
    });
    const r = await fetchWith(db, '/otp-verify', {
      method: 'POST',
      headers: { Authorization: `Bearer ${owner.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(injected).toBe(true);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toBe('invalid_code');
    const row = await env.DB.prepare('SELECT totp_secret, pending_secret FROM users WHERE id = ?').bind(user.id).first();
    expect(row!.totp_secret).toBeNull();
    expect(row!.pending_secret).not.toBeNull();
    const live = await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND authorized = 1').bind(user.id).first<{ n: number }>();
    expect(live!.n).toBe(0);
  });

  it('a full token of another session cannot read or confirm a re-enrollment it did not start', async () => {
    // Re-enrollment: the pending secret belongs to the full session that asked for it.
    const user = await enrolledUser(T0 + 1200);
    const now = T0 + 1260;
    setNow(now);
    const started = await call<{ secret: string }>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(started.status).toBe(201);
    const second = await loginUser(user.username);
    const full = await verifyWith(second.token, { code: await totpAt(user.secret, now) });
    expect(full.status).toBe(200);
    const other = full.body.token!;
    const read = await call('/qrcode', { token: other });
    expect(read.status).toBe(404);
    expect(read.body.error).toBe('no_pending_enrollment');
    const confirm = await verifyWith(other, { code: await totpAt(started.body.secret, now) });
    expect(confirm.status).toBe(404);
    expect(confirm.body.error).toBe('no_pending_enrollment');
  });
});
