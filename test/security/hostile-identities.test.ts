import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, PASSWORD, setNow, snapshot, totpAt, uniqueName, useRealTime } from '../helpers';
import { T0, throttleRow, verifyWith } from './support';

afterEach(useRealTime);

async function usersWithKey(key: string) {
  return (await env.DB.prepare('SELECT * FROM users WHERE username_key = ?').bind(key).all()).results;
}

/**
 * Mass assignment: a client that adds `mfaEnabled`, `authorized` or a
 * prototype key hopes the server copies the body into a row or a token.
 */
describe('extra fields never reach storage or tokens', () => {
  it('register and login ignore mfaEnabled, authorized, totpSecret, __proto__ and constructor', async () => {
    setNow(T0);
    const username = uniqueName('mass');
    const hostile = `{"username":${JSON.stringify(username)},"password":${JSON.stringify(PASSWORD)},"mfaEnabled":true,"authorized":true,"totpSecret":"JBSWY3DPEHPK3PXP","totp_secret":"x","id":"admin","amr":["pwd","otp"],"__proto__":{"authorized":true,"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}}}`;
    const registered = await call('/register', { body: hostile, headers: { 'Content-Type': 'application/json' } });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ id: expect.any(String), username });
    expect(registered.body.id).not.toBe('admin');
    const [row] = await usersWithKey(username.toLowerCase());
    expect(row).toMatchObject({ totp_secret: null, pending_secret: null, totp_last_step: 0 });

    const login = await call<{ token: string; authorized: boolean; mfa: string }>('/login', {
      body: hostile,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ authorized: false, mfa: 'enroll' });
    expect(decodeJwtPayload(login.body.token)).toMatchObject({ authorized: false, amr: ['pwd'] });
    const sessions = await env.DB.prepare('SELECT authorized FROM sessions WHERE user_id = ?').bind(row!.id).all();
    expect(sessions.results).toEqual([{ authorized: 0 }]);
    // The password-only token still opens nothing that needs the second factor.
    expect((await call('/me', { token: login.body.token })).status).toBe(403);
    // No prototype was polluted in the isolate that parsed it.
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).authorized).toBeUndefined();
  });
});

/**
 * Look-alike usernames: "Alice", "ＡＬＩＣＥ" (fullwidth), NFC vs NFD and a
 * zero-width space are classic impersonation tricks; each resolves to the one
 * account or is refused.
 */
describe('usernames', () => {
  it('look-alike spellings are one account (409) or refused (400), and log in to the same account', async () => {
    setNow(T0 + 100);
    const base = `grace${uniqueName('').replace(/_/g, '')}`;
    const first = await call<{ id: string }>('/register', { json: { username: base, password: PASSWORD } });
    expect(first.status).toBe(201);
    const fullwidth = [...base].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join('');
    for (const lookalike of [base.toUpperCase(), `  ${base}  `, fullwidth, base[0]!.toUpperCase() + base.slice(1)]) {
      const r = await call('/register', { json: { username: lookalike, password: PASSWORD } });
      expect([lookalike, r.status, r.body.error]).toEqual([lookalike, 409, 'username_taken']);
    }
    for (const invisible of [`${base.slice(0, 2)}\u200B${base.slice(2)}`, `${base}\u200D`, `\u2060${base}`, `${base}\u202E`]) {
      const r = await call('/register', { json: { username: invisible, password: PASSWORD } });
      expect([JSON.stringify(invisible), r.status, r.body.error]).toEqual([JSON.stringify(invisible), 400, 'validation_failed']);
    }
    expect(await usersWithKey(base)).toHaveLength(1);
    const viaFullwidth = await loginUser(fullwidth.toUpperCase());
    expect(decodeJwtPayload(viaFullwidth.token).sub).toBe(first.body.id);
  });

  it('NFC and NFD spellings of one name, and ß vs SS, are one account', async () => {
    setNow(T0 + 200);
    const tag = uniqueName('').replace(/_/g, '');
    const nfc = `jos\u00e9${tag}`;
    const nfd = `jose\u0301${tag}`;
    expect((await call('/register', { json: { username: nfc, password: PASSWORD } })).status).toBe(201);
    const again = await call('/register', { json: { username: nfd, password: PASSWORD } });
    expect([again.status, again.body.error]).toEqual([409, 'username_taken']);
    const loggedIn = await loginUser(nfd);
    const [row] = await usersWithKey(nfc);
    expect(row).toMatchObject({ username: nfc });
    expect(decodeJwtPayload(loggedIn.token).sub).toBe(row!.id);

    expect((await call('/register', { json: { username: `stra\u00dfe${tag}`, password: PASSWORD } })).status).toBe(201);
    const upper = await call('/register', { json: { username: `STRASSE${tag}`, password: PASSWORD } });
    expect([upper.status, upper.body.error]).toEqual([409, 'username_taken']);
  });

  it('control characters, line separators and ":" are refused; nothing is stored', async () => {
    const before = await snapshot();
    for (const username of ['ab\u0000cd', 'ab\u0007cd', 'ab\u001b[31mcd', 'ab\tcd', 'ab\ncd', 'ab\u2028cd', 'ab\u0085cd', 'evil:issuer', 'a:b:c', ':::']) {
      const r = await call('/register', { json: { username, password: PASSWORD } });
      expect([JSON.stringify(username), r.status, r.body.error]).toEqual([JSON.stringify(username), 400, 'validation_failed']);
    }
    expect(await snapshot()).toBe(before);
  });

  /**
   * Stored XSS through the QR label: the username travels into the otpauth
   * URI and the QR image. It must be percent-encoded in the URI and never
   * written into the SVG as markup.
   */
  it('"<script>" in a username stays inert in the URI, the JSON and the SVG', async () => {
    const username = `<script>alert(1)</script>${uniqueName('').slice(0, 6)}`;
    const user = await enrolledUser(T0 + 300, username);
    setNow(T0 + 360);
    // A full token starts a re-enrollment, which has a QR code to show.
    const created = await call<{ uri: string }>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(created.status).toBe(201);
    expect(created.body.uri).toContain(`otpauth://totp/edge-mfa:${encodeURIComponent(username)}?`);
    expect(created.body.uri).not.toMatch(/[<>"' ]/);
    const qr = await call<{ imageUrl: string; uri: string }>('/qrcode', { token: user.fullToken });
    expect(qr.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(qr.headers.get('X-Content-Type-Options')).toBe('nosniff');
    const svg = await call('/qrcode', { token: user.fullToken, headers: { Accept: 'image/svg+xml' } });
    expect(svg.status).toBe(200);
    for (const text of [svg.text, atob(qr.body.imageUrl.split(',')[1]!)]) {
      expect(text).not.toMatch(/<script|alert|javascript:|\son\w+=|<text|<foreignObject/i);
      expect(text).not.toContain(username);
      expect(text.match(/<(\w+)/g)!.every((tag) => ['<svg', '<rect', '<path', '<g'].includes(tag))).toBe(true);
    }
    const me = await call('/me', { token: user.fullToken });
    expect(me.body.username).toBe(username);
  });
});

/** NIST SP 800-63B §5.1.1.2: long passphrases are allowed, never truncated. */
describe('passwords', () => {
  it('256 characters are accepted and not truncated; 257 are weak_password; 64 emoji count as 64', async () => {
    setNow(T0 + 400);
    const long = `${'a'.repeat(255)}Z`;
    const u1 = uniqueName('long');
    expect((await call('/register', { json: { username: u1, password: long } })).status).toBe(201);
    // A truncating store would accept the first 255 characters, or a 257th added.
    expect((await call('/login', { json: { username: u1, password: long.slice(0, 255) } })).status).toBe(401);
    expect((await call('/login', { json: { username: u1, password: `${long}Z` } })).status).toBe(401);
    expect((await call('/login', { json: { username: u1, password: long } })).status).toBe(200);

    const tooLong = await call('/register', { json: { username: uniqueName('long'), password: 'b'.repeat(257) } });
    expect([tooLong.status, tooLong.body.error]).toEqual([400, 'weak_password']);

    const emoji = '🔑'.repeat(64); // 128 UTF-16 units, 256 UTF-8 bytes, 64 code points
    const u2 = uniqueName('emoji');
    expect((await call('/register', { json: { username: u2, password: emoji } })).status).toBe(201);
    expect((await call('/login', { json: { username: u2, password: '🔑'.repeat(63) } })).status).toBe(401);
    expect((await call('/login', { json: { username: u2, password: emoji } })).status).toBe(200);
    const emoji257 = await call('/register', { json: { username: uniqueName('emoji'), password: '🔑'.repeat(257) } });
    expect([emoji257.status, emoji257.body.error]).toEqual([400, 'weak_password']);
  });
});

describe('codes', () => {
  it('only 6 ASCII digits count: the right code in fullwidth or Arabic-Indic digits is 400 and not a guess', async () => {
    const user = await enrolledUser(T0 + 500);
    const now = T0 + 560;
    setNow(now);
    const { token } = await loginUser(user.username);
    const code = await totpAt(user.secret, now);
    const fullwidth = [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
    const arabic = [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join('');
    for (const variant of [fullwidth, arabic, code.slice(0, 5), `${code}0`, `${code}\u200B`, `+${code.slice(1)}`, `${code.slice(0, 3)}-${code.slice(3)}`]) {
      const r = await verifyWith(token, { code: variant });
      expect([variant, r.status, r.body.error]).toEqual([variant, 400, 'validation_failed']);
    }
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
    // Blanks a person types between the groups are forgiven (API.md).
    const ok = await verifyWith(token, { code: `${code.slice(0, 3)} ${code.slice(3)}` });
    expect(ok.status).toBe(200);
  });
});
