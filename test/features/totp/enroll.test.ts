import { afterEach, describe, expect, it } from 'vitest';
import { base32Decode } from '../../../src/crypto/base32';
import { setNow, snapshot, totpAt, uniqueName, useRealTime } from '../../helpers';
import { accountRows, api, enrolled, expectError, expectUnauthorized, INVALID_TOKEN, signIn, signUp, storedUser } from '../account/support';

const T0 = 1_800_000_000; // a 30 s step boundary
afterEach(useRealTime);

interface Created {
  ok: boolean;
  secret: string;
  uri: string;
}

describe('POST /create-otp', () => {
  it('201 { ok, secret, uri } with a password-only token: a pending 160-bit secret, sealed at rest, nothing active yet', async () => {
    setNow(T0 + 3);
    const user = await signUp();
    const { token } = await signIn(user.username);
    const r = await api<Created>('/create-otp', { method: 'POST', token });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ ok: true, secret: expect.stringMatching(/^[A-Z2-7]{32}$/), uri: expect.any(String) });
    expect(base32Decode(r.body.secret)).toHaveLength(20);
    const row = await storedUser(user.id);
    expect(row.totp_secret).toBeNull();
    expect(row.pending_secret).toEqual(expect.any(String));
    expect(JSON.stringify(row)).not.toContain(r.body.secret);

    // Calling again replaces the pending secret; only the newest is confirmable.
    const again = await api<Created>('/create-otp', { method: 'POST', token });
    expect(again.status).toBe(201);
    expect(again.body.secret).not.toBe(r.body.secret);
    const qr = await api<{ uri: string }>('/qrcode', { token });
    expect(qr.body.uri).toBe(again.body.uri);
    const stale = await api('/otp-verify', { token, json: { code: await totpAt(r.body.secret, T0 + 3) } });
    expectError(stale, 401, 'invalid_code');
  });

  it('401 without a token; nothing stored', async () => {
    const before = await snapshot();
    expectUnauthorized(await api('/create-otp', { method: 'POST' }));
    expect(await snapshot()).toBe(before);
  });

  it('403 mfa_already_enabled for a password-only token once MFA is active; the active secret is unchanged byte for byte', async () => {
    const user = await enrolled(T0 + 60);
    const { token: pwdToken } = await signIn(user.username);
    const stored = await storedUser(user.id);
    const before = await snapshot();

    // The attack: a stolen password tries to replace (or read) the second factor.
    expectError(await api('/create-otp', { method: 'POST', token: pwdToken }), 403, 'mfa_already_enabled');
    const qr = await api('/qrcode', { token: pwdToken });
    expectError(qr, 403, 'mfa_already_enabled');
    expect(qr.text).not.toContain(user.secret);

    expect(await snapshot()).toBe(before);
    const after = await storedUser(user.id);
    expect(after.totp_secret).toBe(stored.totp_secret);
    expect(after.pending_secret).toBeNull();
    // The old secret still opens the account.
    setNow(T0 + 90);
    const verified = await api('/otp-verify', { token: pwdToken, json: { code: await totpAt(user.secret, T0 + 90) } });
    expect(verified.status).toBe(200);
  });
});

describe('GET /qrcode', () => {
  it('JSON { imageUrl, uri } by default and the SVG itself for Accept: image/svg+xml; the Key URI percent-encodes blanks as %20 and <script>', async () => {
    setNow(T0 + 200);
    const username = 'Jane Doe <script>';
    const user = await signUp(username);
    const { token } = await signIn(user.username);
    const created = await api<Created>('/create-otp', { method: 'POST', token });
    const expectedUri = `otpauth://totp/edge-mfa:Jane%20Doe%20%3Cscript%3E?secret=${created.body.secret}&issuer=edge-mfa&algorithm=SHA1&digits=6&period=30`;
    expect(created.body.uri).toBe(expectedUri);

    const before = await snapshot();
    const json = await api<{ imageUrl: string; uri: string }>('/qrcode', { token });
    expect(json.status).toBe(200);
    expect(json.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(json.body).toEqual({ imageUrl: expect.stringMatching(/^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/), uri: expectedUri });

    const svg = await api('/qrcode', { token, headers: { Accept: 'image/svg+xml' } });
    expect(svg.status).toBe(200);
    expect(svg.headers.get('Content-Type')).toMatch(/^image\/svg\+xml/);
    expect(svg.text).toMatch(/^(<\?xml [^>]*\?>\s*)?<svg[\s>]/);
    expect(svg.text).not.toContain('<script');
    expect(atob(json.body.imageUrl.slice('data:image/svg+xml;base64,'.length))).toBe(svg.text);
    // Browsers list several types; the SVG is still chosen.
    const listed = await api('/qrcode', { token, headers: { Accept: 'text/html, image/svg+xml;q=0.9' } });
    expect(listed.text).toBe(svg.text);
    expect(await snapshot()).toBe(before);
  });

  it('404 no_pending_enrollment before /create-otp, and after the confirmation shows nothing', async () => {
    setNow(T0 + 300);
    const user = await signUp();
    const { token } = await signIn(user.username);
    const before = await snapshot();
    expectError(await api('/qrcode', { token }), 404, 'no_pending_enrollment');
    expectError(await api('/qrcode', { token, headers: { Accept: 'image/svg+xml' } }), 404, 'no_pending_enrollment');
    expect(await snapshot()).toBe(before);

    const created = await api<Created>('/create-otp', { method: 'POST', token });
    const verified = await api<{ token: string }>('/otp-verify', {
      token,
      json: { code: await totpAt(created.body.secret, T0 + 300) },
    });
    expect(verified.status).toBe(200);
    for (const accept of [undefined, 'image/svg+xml']) {
      const r = await api('/qrcode', { token: verified.body.token, headers: accept ? { Accept: accept } : {} });
      expectError(r, 404, 'no_pending_enrollment');
      expect(r.text).not.toContain(created.body.secret);
    }
  });

  it('401 without a token', async () => {
    expectUnauthorized(await api('/qrcode'));
    expectUnauthorized(await api('/qrcode', { headers: { Accept: 'image/svg+xml' } }));
  });

  it('a pending secret expires after 10 minutes: 404 afterwards, and its code no longer confirms (409 mfa_not_enrolled)', async () => {
    setNow(T0 + 400);
    const user = await signUp();
    const { token: first } = await signIn(user.username);
    const created = await api<Created>('/create-otp', { method: 'POST', token: first });
    setNow(T0 + 400 + 290); // the password-only token still lives; the pending secret too
    expect((await api('/qrcode', { token: first })).status).toBe(200);
    setNow(T0 + 400 + 600);
    const { token: second } = await signIn(user.username);
    expectError(await api('/qrcode', { token: second }), 404, 'no_pending_enrollment');
    const late = await api('/otp-verify', { token: second, json: { code: await totpAt(created.body.secret, T0 + 1000) } });
    expectError(late, 409, 'mfa_not_enrolled');
  });
});

describe('re-enrollment with a full token', () => {
  it('the old secret works until the new one is confirmed; afterwards only the new one, and other sessions are logged out', async () => {
    const user = await enrolled(T0 + 1200, uniqueName('reenroll'));
    const activeBefore = (await storedUser(user.id)).totp_secret;

    setNow(T0 + 1230);
    const started = await api<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(started.status).toBe(201);
    expect(started.body.secret).not.toBe(user.secret);
    const row = await storedUser(user.id);
    expect(row.totp_secret).toBe(activeBefore);
    expect(row.pending_secret).not.toBeNull();
    const qr = await api<{ uri: string }>('/qrcode', { token: user.fullToken });
    expect(qr.status).toBe(200);
    expect(qr.body.uri).toBe(started.body.uri);

    // Meanwhile a login still takes a code from the old secret, not the new one,
    // and its password-only token can neither see nor replace the pending secret.
    setNow(T0 + 1260);
    const { token: pwdToken } = await signIn(user.username);
    const rows = await accountRows();
    const peek = await api('/qrcode', { token: pwdToken });
    expectError(peek, 403, 'mfa_already_enabled');
    expect(peek.text).not.toContain(started.body.secret);
    expectError(await api('/create-otp', { method: 'POST', token: pwdToken }), 403, 'mfa_already_enabled');
    expectError(
      await api('/otp-verify', { token: pwdToken, json: { code: await totpAt(started.body.secret, T0 + 1260) } }),
      401,
      'invalid_code',
    );
    expect(await accountRows()).toBe(rows);
    const oldWorks = await api<{ token: string }>('/otp-verify', {
      token: pwdToken,
      json: { code: await totpAt(user.secret, T0 + 1260) },
    });
    expect(oldWorks.status).toBe(200);

    // The full token confirms with a code from the new secret.
    setNow(T0 + 1290);
    const confirmed = await api<{ token: string; authorized: boolean; recoveryCodes: string[] }>('/otp-verify', {
      token: user.fullToken,
      json: { code: await totpAt(started.body.secret, T0 + 1290) },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.authorized).toBe(true);
    expect(confirmed.body.recoveryCodes).toHaveLength(10);
    const swapped = await storedUser(user.id);
    expect(swapped.totp_secret).toBe(row.pending_secret);
    expect(swapped.pending_secret).toBeNull();
    // Every other session knew only the old factor.
    expectUnauthorized(await api('/me', { token: oldWorks.body.token }), INVALID_TOKEN);
    expectUnauthorized(await api('/me', { token: user.fullToken }), INVALID_TOKEN);
    expect((await api('/me', { token: confirmed.body.token })).status).toBe(200);

    setNow(T0 + 1320);
    const { token: later } = await signIn(user.username);
    expectError(await api('/otp-verify', { token: later, json: { code: await totpAt(user.secret, T0 + 1320) } }), 401, 'invalid_code');
    const newWorks = await api('/otp-verify', { token: later, json: { code: await totpAt(started.body.secret, T0 + 1320) } });
    expect(newWorks.status).toBe(200);
  });

  it('with no re-enrollment pending, a full token gets 404 no_pending_enrollment from /otp-verify and nothing changes', async () => {
    const user = await enrolled(T0 + 1500);
    setNow(T0 + 1530);
    const before = await snapshot();
    const r = await api('/otp-verify', { token: user.fullToken, json: { code: await totpAt(user.secret, T0 + 1530) } });
    expectError(r, 404, 'no_pending_enrollment');
    expect(await snapshot()).toBe(before);
  });
});
