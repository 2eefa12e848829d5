import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload, PASSWORD, setNow, snapshot, totpAt, uniqueName, useRealTime } from '../../helpers';
import { accountRows, api, enrolled, expectError, expectUnauthorized, INVALID_TOKEN, signIn, signUp } from './support';

const T0 = 1_800_000_000; // a 30 s step boundary
afterEach(useRealTime);

describe('POST /login', () => {
  let plain: { id: string; username: string };
  beforeAll(async () => {
    plain = await signUp(uniqueName('Login'));
  });

  it('200 with a password-only token and mfa "enroll" before enrollment; any case or width of the name works', async () => {
    setNow(T0 + 7);
    const fullwidth = [...plain.username].map((ch) => String.fromCodePoint(ch.codePointAt(0)! + 0xfee0)).join('');
    for (const username of [plain.username, plain.username.toLowerCase(), ` ${plain.username.toUpperCase()} `, fullwidth]) {
      const r = await api<{ token: string; authorized: boolean; mfa: string; expiresIn: number }>('/login', {
        json: { username, password: PASSWORD },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ token: expect.any(String), authorized: false, mfa: 'enroll', methods: [], expiresIn: 300 });
      const claims = decodeJwtPayload(r.body.token);
      expect(claims).toMatchObject({
        iss: 'edge-mfa',
        aud: 'edge-mfa',
        sub: plain.id,
        username: plain.username,
        iat: T0 + 7,
        exp: T0 + 7 + 300,
        authorized: false,
        amr: ['pwd'],
      });
      expect(claims.jti).toEqual(expect.any(String));
      const session = await env.DB.prepare('SELECT * FROM sessions WHERE id = ?').bind(claims.sid).first();
      expect(session).toMatchObject({ user_id: plain.id, authorized: 0, expires_at: T0 + 7 + 300, revoked_at: null });
    }
  });

  it('200 with mfa "verify" once MFA is active', async () => {
    const user = await enrolled(T0 + 100);
    const r = await api('/login', { json: { username: user.username, password: PASSWORD } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ authorized: false, mfa: 'verify', methods: ['otp'], expiresIn: 300 });
  });

  it('401 invalid_credentials with byte-identical bodies for an unknown user and a wrong password; no session made', async () => {
    const before = await accountRows();
    const unknown = await api('/login', { json: { username: uniqueName('nobody'), password: PASSWORD } });
    const wrong = await api('/login', { json: { username: plain.username, password: `${PASSWORD}!` } });
    // Passwords are never trimmed: a trailing blank is a different password.
    const blank = await api('/login', { json: { username: plain.username, password: `${PASSWORD} ` } });
    for (const r of [unknown, wrong, blank]) expectError(r, 401, 'invalid_credentials');
    expect(wrong.text).toBe(unknown.text);
    expect(blank.text).toBe(unknown.text);
    expect(wrong.headers.get('WWW-Authenticate')).toBe(unknown.headers.get('WWW-Authenticate'));
    expect(await accountRows()).toBe(before);
  });

  it('400 validation_failed, 415 and 400 invalid_json before any password work; nothing stored', async () => {
    const before = await snapshot();
    expectError(await api('/login', { json: { username: plain.username } }), 400, 'validation_failed');
    expectError(await api('/login', { json: { username: 'ab', password: PASSWORD } }), 400, 'validation_failed');
    expectError(await api('/login', { json: { username: plain.username, password: null } }), 400, 'validation_failed');
    expectError(
      await api('/login', { body: JSON.stringify({ username: plain.username, password: PASSWORD }), headers: { 'Content-Type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expectError(await api('/login', { body: '{"username":', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_json');
    expectError(
      await api('/login', { body: JSON.stringify({ username: plain.username, password: 'p'.repeat(20_000) }), headers: { 'Content-Type': 'application/json' } }),
      413,
      'payload_too_large',
    );
    expect(await snapshot()).toBe(before);
  });
});

describe('GET /me', () => {
  it('200 with the profile for a full token, 403 mfa_required for a password-only one, 401 without one', async () => {
    const user = await enrolled(T0 + 200);
    const me = await api('/me', { token: user.fullToken });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: user.id,
      username: user.username,
      mfaEnabled: true,
      methods: ['otp'],
      recoveryCodesRemaining: 10,
      createdAt: new Date((T0 + 200) * 1000).toISOString(),
    });

    const { token: pwdToken } = await signIn(user.username);
    const before = await snapshot();
    const early = await api('/me', { token: pwdToken });
    expectError(early, 403, 'mfa_required');
    expect(early.headers.get('WWW-Authenticate')).toBeNull();
    expectUnauthorized(await api('/me'));
    expect(await snapshot()).toBe(before);
  });

});

describe('POST /disable-otp (one success; its lifecycle is tested with the recovery codes)', () => {
  it('200 { ok: true } with the password; every session is revoked and the next login asks to enroll', async () => {
    const user = await enrolled(T0 + 300);
    const off = await api('/disable-otp', { token: user.fullToken, json: { password: PASSWORD } });
    expect(off.status).toBe(200);
    expect(off.body).toEqual({ ok: true });
    expectUnauthorized(await api('/me', { token: user.fullToken }), INVALID_TOKEN);
    const again = await signIn(user.username);
    expect(again.mfa).toBe('enroll');
  });
});

describe('POST /logout', () => {
  it('204 with no body, then the same token gets 401; other sessions stay live', async () => {
    const user = await enrolled(T0 + 400);
    setNow(T0 + 430);
    const second = await signIn(user.username);
    const secondFull = await api<{ token: string }>('/otp-verify', {
      token: second.token,
      json: { code: await totpAt(user.secret, T0 + 430) },
    });
    expect(secondFull.status).toBe(200);

    const out = await api('/logout', { method: 'POST', token: user.fullToken });
    expect(out.status).toBe(204);
    expect(out.text).toBe('');
    expectUnauthorized(await api('/me', { token: user.fullToken }), INVALID_TOKEN);
    expectUnauthorized(await api('/logout', { method: 'POST', token: user.fullToken }), INVALID_TOKEN);
    expect((await api('/me', { token: secondFull.body.token })).status).toBe(200);
  });

  it('a password-only token may end its own session only; { all: true } with a full token revokes every session', async () => {
    const user = await enrolled(T0 + 500);
    const pending = await signIn(user.username);
    // Whoever has only the password must not sign the real user out everywhere.
    expectError(await api('/logout', { token: pending.token, json: { all: true } }), 403, 'mfa_required');
    expect((await api('/me', { token: user.fullToken })).status).toBe(200);
    const other = await signIn(user.username);
    expect((await api('/logout', { token: pending.token, json: {} })).status).toBe(204);
    expectUnauthorized(await api('/otp-verify', { token: pending.token, json: { code: '123456' } }), INVALID_TOKEN);
    expect((await api('/logout', { token: user.fullToken, json: { all: true } })).status).toBe(204);
    expectUnauthorized(await api('/me', { token: user.fullToken }), INVALID_TOKEN);
    expectUnauthorized(await api('/otp-verify', { token: other.token, json: { code: '123456' } }), INVALID_TOKEN);
  });

  it('401 without a token, 400 validation_failed for a malformed body, and nothing revoked', async () => {
    const user = await enrolled(T0 + 600);
    const before = await snapshot();
    expectUnauthorized(await api('/logout', { method: 'POST' }));
    expectError(await api('/logout', { token: user.fullToken, json: { all: 'yes' } }), 400, 'validation_failed');
    expectError(await api('/logout', { token: user.fullToken, body: 'all', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_json');
    expect(await snapshot()).toBe(before);
    expect((await api('/me', { token: user.fullToken })).status).toBe(200);
  });
});

describe('GET /health and unknown routes', () => {
  it('/health answers 200 { ok: true }', async () => {
    const r = await api('/health');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });

  it('404 not_found for an unknown route or method, with the error body', async () => {
    const before = await snapshot();
    expectError(await api('/nope'), 404, 'not_found');
    expectError(await api('/register'), 404, 'not_found');
    expectError(await api('/admin/users', { json: { username: 'x' } }), 404, 'not_found');
    expect(await snapshot()).toBe(before);
  });
});
