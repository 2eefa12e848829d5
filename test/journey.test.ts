import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { atProductionHashCost, call, decodeJwtPayload, PASSWORD, setNow, totpAt, uniqueName, useRealTime } from './helpers';

const T0 = 1_800_000_000; // a fixed instant, well inside a 30 s step boundary's middle
afterEach(useRealTime);
// This journey hashes passwords as production does (wrangler.toml's SCRYPT_PARAMS), not at the pool's lowered cost.
atProductionHashCost();

describe('the whole journey through the real app and D1', () => {
  it('register → login → create-otp → qrcode → otp-verify → /me, then a later login with a code', async () => {
    setNow(T0 + 5);
    const username = uniqueName('alice');

    const registered = await call('/register', { json: { username, password: PASSWORD } });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ id: expect.any(String), username });
    const stored = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(registered.body.id).first<{ password_hash: string }>();
    expect(stored!.password_hash).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);

    const login = await call<{ token: string; authorized: boolean; mfa: string; expiresIn: number }>('/login', {
      json: { username, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ authorized: false, mfa: 'enroll', expiresIn: 300 });
    const claims = decodeJwtPayload(login.body.token);
    expect(claims).toMatchObject({ sub: registered.body.id, username, authorized: false, amr: ['pwd'] });
    expect(claims.exp! as number - (claims.iat as number)).toBe(300);
    expect(login.headers.get('Cache-Control')).toBe('no-store');

    // A password-only token opens only the MFA routes.
    const early = await call('/me', { token: login.body.token });
    expect(early.status).toBe(403);
    expect(early.body).toMatchObject({ error: 'mfa_required' });

    const created = await call<{ ok: boolean; secret: string; uri: string }>('/create-otp', {
      method: 'POST',
      token: login.body.token,
    });
    expect(created.status).toBe(201);
    expect(created.body.ok).toBe(true);
    expect(created.body.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, no padding
    expect(created.body.uri).toBe(
      `otpauth://totp/edge-mfa:${encodeURIComponent(username)}?secret=${created.body.secret}&issuer=edge-mfa&algorithm=SHA1&digits=6&period=30`,
    );
    // Kept encrypted at rest: the base32 secret appears nowhere in the row.
    const row = await env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(registered.body.id).first();
    expect(JSON.stringify(row)).not.toContain(created.body.secret);
    expect(row?.pending_secret).toMatch(/^v1\./);
    expect(row?.totp_secret).toBeNull();

    const qr = await call<{ imageUrl: string; uri: string }>('/qrcode', { token: login.body.token });
    expect(qr.status).toBe(200);
    expect(qr.body.uri).toBe(created.body.uri);
    expect(qr.body.imageUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    const svg = await call('/qrcode', { token: login.body.token, headers: { Accept: 'image/svg+xml' } });
    expect(svg.status).toBe(200);
    expect(svg.headers.get('Content-Type')).toMatch(/^image\/svg\+xml/);
    expect(svg.text).toContain('<svg');
    expect(atob(qr.body.imageUrl.split(',')[1]!)).toBe(svg.text);

    const code = await totpAt(created.body.secret, T0 + 5);
    const verified = await call<{ token: string; authorized: boolean; expiresIn: number; recoveryCodes: string[] }>(
      '/otp-verify',
      { token: login.body.token, json: { code } },
    );
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ authorized: true, expiresIn: 900 });
    expect(verified.body.recoveryCodes).toHaveLength(10);
    expect(decodeJwtPayload(verified.body.token)).toMatchObject({ authorized: true, amr: ['pwd', 'otp'] });

    // The password-only token was retired by the successful verification.
    const retired = await call('/create-otp', { method: 'POST', token: login.body.token });
    expect(retired.status).toBe(401);

    const me = await call('/me', { token: verified.body.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: registered.body.id,
      username,
      mfaEnabled: true,
      methods: ['otp'],
      recoveryCodesRemaining: 10,
      createdAt: new Date((T0 + 5) * 1000).toISOString(),
    });

    // The active secret is never shown again.
    const after = await call('/qrcode', { token: verified.body.token });
    expect(after.status).toBe(404);
    expect(after.body).toMatchObject({ error: 'no_pending_enrollment' });

    // A later login asks for a code, and a code from the next step works.
    setNow(T0 + 95);
    const second = await call<{ token: string; mfa: string }>('/login', { json: { username, password: PASSWORD } });
    expect(second.body.mfa).toBe('verify');
    const next = await call<{ token: string; recoveryCodes?: string[] }>('/otp-verify', {
      token: second.body.token,
      json: { code: await totpAt(created.body.secret, T0 + 95) },
    });
    expect(next.status).toBe(200);
    expect(next.body.recoveryCodes).toBeUndefined();
    expect((await call('/me', { token: next.body.token })).status).toBe(200);
  });

  it('accepts the original field name `token` and blanks inside the code', async () => {
    setNow(T0 + 300);
    const username = uniqueName();
    await call('/register', { json: { username, password: PASSWORD } });
    const login = await call<{ token: string }>('/login', { json: { username, password: PASSWORD } });
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: login.body.token });
    const code = await totpAt(created.body.secret, T0 + 300);
    const verified = await call('/otp-verify', {
      token: login.body.token,
      json: { token: `${code.slice(0, 3)} ${code.slice(3)}` },
    });
    expect(verified.status).toBe(200);
  });

  it('GET /health answers when storage answers', async () => {
    const r = await call('/health');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });
});
