/** Counter, backup flags, the passkey budget, and hostile bodies on the /webauthn routes. */
import { budgetRow } from '../../budget';
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, registerUser, setNow, snapshot, totpAt, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { addPasskey, assertionResponse, credentialRow, loginVerify, options, passkeyLogin, passkeyUser } from './support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

const throttleRow = (key: string) => budgetRow(key);

describe('passkeys: signature counter (§7.2 step 24)', () => {
  it('a synced passkey reporting 0 every time keeps working', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    for (let i = 0; i < 3; i++) expect((await passkeyLogin(user)).result.status).toBe(200);
    expect((await credentialRow(user.credentialId))!.sign_count).toBe(0);
  });

  it('a device-bound counter advances and is stored; a regression (BE = 0) is refused and the stored value is not lowered', async () => {
    const user = await passkeyUser(T0, { signCount: 10 });
    expect((await passkeyLogin(user)).result.status).toBe(200); // 11
    expect((await credentialRow(user.credentialId))!.sign_count).toBe(11);
    // Attack: a cloned authenticator whose counter lags the original's.
    expect((await passkeyLogin(user, { signCount: 5 })).result.status).toBe(401);
    expect((await passkeyLogin(user, { signCount: 11 })).result.status).toBe(401);
    expect((await credentialRow(user.credentialId))!.sign_count).toBe(11);
  });

  it('a regression on a synced passkey (BE = 1) is accepted without lowering the stored value', async () => {
    const user = await passkeyUser(T0, { backupEligible: true, signCount: 20 });
    expect((await passkeyLogin(user, { signCount: 25 })).result.status).toBe(200);
    expect((await passkeyLogin(user, { signCount: 3 })).result.status).toBe(200);
    expect((await credentialRow(user.credentialId))!.sign_count).toBe(25);
  });
});

describe('passkeys: backup flags (§6.1.3)', () => {
  it('BE flipping is refused, in either direction', async () => {
    const bound = await passkeyUser(T0);
    expect((await passkeyLogin(bound, { flags: { be: true, bs: true } })).result.status).toBe(401);
    const synced = await passkeyUser(T0, { backupEligible: true });
    expect((await passkeyLogin(synced, { flags: { be: false, bs: false } })).result.status).toBe(401);
  });

  it('BS without BE is refused at registration and at login', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    expect((await addPasskey(token, await SoftwareAuthenticator.create(-7), { flags: { be: false, bs: true } })).status).toBe(401);
    const holder = await passkeyUser(T0);
    expect((await passkeyLogin(holder, { flags: { be: false, bs: true } })).result.status).toBe(401);
  });

  it('BS is recorded as backedUp', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const list = await call<{ credentials: { backedUp: boolean }[] }>('/webauthn/credentials', { token: user.fullToken });
    expect(list.body.credentials[0]!.backedUp).toBe(true);
  });
});

describe('passkeys: a budget of their own', () => {
  it('after 5 failed assertions the passkey step is locked (429), the code budget untouched and TOTP still works', async () => {
    const user = await enrolledUser(T0);
    const authenticator = await SoftwareAuthenticator.create(-7);
    expect((await addPasskey(user.fullToken, authenticator)).status).toBe(201);
    const { token } = await loginUser(user.username);
    // Attack: guessing at the passkey step (forged signatures), hoping to wear down or share the code budget.
    for (let i = 0; i < 5; i++) {
      const opts = await options('login', token);
      expect((await loginVerify(token, opts.challengeId, await assertionResponse(authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
    }
    const opts = await options('login', token);
    const locked = await loginVerify(token, opts.challengeId, await assertionResponse(authenticator, user.id, opts));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await throttleRow(`webauthn:${user.id}`)).toMatchObject({ failures: 5 });
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
    // The code budget is its own: TOTP still logs in, and its success does not unlock passkeys.
    const otp = await call('/otp-verify', { token, json: { code: await totpAt(user.secret, T0 + 30) } });
    expect(otp.status).toBe(200);
    expect(await throttleRow(`webauthn:${user.id}`)).toMatchObject({ failures: 5 });
  });

  it('failed codes do not lock the passkey step; a passkey success resets only its own budget', async () => {
    const user = await enrolledUser(T0);
    const authenticator = await SoftwareAuthenticator.create(-7);
    expect((await addPasskey(user.fullToken, authenticator)).status).toBe(201);
    const { token } = await loginUser(user.username);
    for (let i = 0; i < 5; i++) expect((await call('/otp-verify', { token, json: { code: '000000' } })).status).toBe(401);
    expect((await call('/otp-verify', { token, json: { code: '000000' } })).status).toBe(429);
    const opts = await options('login', token);
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(authenticator, user.id, opts))).status).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 5 });
  });
});

describe('passkeys: hostile bodies are 400, never 500, and change nothing', () => {
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

  it('malformed CBOR, base64url, oversized or missing fields at registration', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    const opts = await options('register', token);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const valid = await authenticator.register(opts.challenge, { rpId: 'mfa.test', origin: 'https://mfa.test' });
    const bodies: unknown[] = [
      { ...valid, response: { ...valid.response, attestationObject: b64(Uint8Array.of(0xa3, 0x63, 0x66)) } }, // truncated CBOR map
      { ...valid, response: { ...valid.response, attestationObject: b64(Uint8Array.of(0xff, 0xff, 0xff)) } }, // not CBOR
      { ...valid, response: { ...valid.response, clientDataJSON: 'not*base64url' } },
      { ...valid, response: { ...valid.response, clientDataJSON: b64(new TextEncoder().encode('{"type":')) } }, // not JSON
      { ...valid, response: { ...valid.response, attestationObject: 'A'.repeat(12_000) } }, // oversized
      { ...valid, id: 'A'.repeat(2100), rawId: 'A'.repeat(2100) }, // an id far over 1023 bytes
      { ...valid, response: { ...valid.response, transports: ['usb', 42] } },
      { ...valid, response: undefined },
      { ...valid, type: 'password' },
      'a string',
      [],
    ];
    for (const response of bodies) {
      const before = await snapshot(['webauthn_credentials', 'sessions', 'users']);
      const r = await call('/webauthn/register/verify', { token, json: { challengeId: opts.challengeId, response } });
      expect(r.status, JSON.stringify(response).slice(0, 80)).toBe(400);
      expect(await snapshot(['webauthn_credentials', 'sessions', 'users'])).toBe(before);
    }
    // Nothing was burnt by malformed input: the valid response still registers.
    expect((await call('/webauthn/register/verify', { token, json: { challengeId: opts.challengeId, response: valid } })).status).toBe(201);
  });

  it('malformed assertion fields, base64url and sizes at login; a bad challengeId is 400', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    const valid = await assertionResponse(user.authenticator, user.id, opts);
    const bodies: unknown[] = [
      { ...valid, response: { ...valid.response, signature: 'A'.repeat(3000) } },
      { ...valid, response: { ...valid.response, authenticatorData: '%%%' } },
      { ...valid, response: { ...valid.response, userHandle: 'A'.repeat(200) } },
      { ...valid, rawId: 'AAAA' }, // id and rawId disagree
      { ...valid, response: { ...valid.response, clientDataJSON: 12 } },
      { ...valid, response: null },
    ];
    for (const response of bodies) {
      const r = await loginVerify(token, opts.challengeId, response);
      expect(r.status, JSON.stringify(response).slice(0, 80)).toBe(400);
    }
    expect((await call('/webauthn/login/verify', { token, json: { challengeId: 'x'.repeat(65), response: valid } })).status).toBe(400);
    expect((await call('/webauthn/login/verify', { token, json: { challengeId: opts.challengeId } })).status).toBe(400);
    // An authenticatorData that is base64url but not authenticator data is malformed too (400), and costs no budget.
    const garbage = { ...valid, response: { ...valid.response, authenticatorData: b64(Uint8Array.of(1, 2, 3)) } };
    expect((await loginVerify(token, opts.challengeId, garbage)).status).toBe(400);
    expect(await env.DB.prepare("SELECT 1 FROM throttles WHERE key = ?").bind(`webauthn:${user.id}`).first()).toBeNull();
    expect((await loginVerify(token, opts.challengeId, valid)).status).toBe(200);
  });

  it('a dead token is 401 before a bad body is 400', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    await call('/logout', { method: 'POST', token });
    expect((await loginVerify(token, 'x', { nonsense: true })).status).toBe(401);
  });
});
