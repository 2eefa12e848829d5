import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, snapshot, totpAt, useRealTime } from '../../helpers';
import { budgetRow } from '../../budget';
import { accountRows, api, enrolled, expectError, expectUnauthorized, INVALID_TOKEN, signIn, signUp, storedUser } from '../account/support';

const T0 = 1_800_000_000; // a 30 s step boundary: T0 + 15 is the middle of a step
const STEP = 30;
afterEach(useRealTime);

interface VerifiedBody {
  token: string;
  authorized: boolean;
  expiresIn: number;
  recoveryCodes?: string[];
}

async function otpFailures(userId: string): Promise<number> {
  const row = await budgetRow(`otp:${userId}`);
  return row?.failures ?? 0;
}

describe('POST /otp-verify', () => {
  it('200 { token, authorized: true, expiresIn } for a login code; the password-only session becomes the full one and its token is refused from then on', async () => {
    const user = await enrolled(T0 + 15);
    setNow(T0 + 15 + 2 * STEP);
    const { token: pwdToken } = await signIn(user.username);
    const r = await api<VerifiedBody>('/otp-verify', { token: pwdToken, json: { code: await totpAt(user.secret, T0 + 15 + 2 * STEP) } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ token: expect.any(String), refreshToken: expect.stringMatching(/^rt1\./), authorized: true, expiresIn: 900 });
    const claims = decodeJwtPayload(r.body.token);
    expect(claims).toMatchObject({ sub: user.id, authorized: true, amr: ['pwd', 'otp'], exp: T0 + 15 + 2 * STEP + 900 });
    // Promoted in place (src/core/second-factor/code.ts): the same session id, now a full session.
    expect(claims.sid).toBe(decodeJwtPayload(pwdToken).sid);
    expectUnauthorized(await api('/otp-verify', { token: pwdToken, json: { code: '123456' } }), INVALID_TOKEN);
    expect((await api('/me', { token: r.body.token })).status).toBe(200);
  });

  it('400 validation_failed for 5 or 7 digits, letters, fullwidth digits, a number, no code, or two of code/token/recoveryCode; not counted, nothing stored', async () => {
    const user = await enrolled(T0 + 600);
    setNow(T0 + 630);
    const { token } = await signIn(user.username);
    const good = await totpAt(user.secret, T0 + 630);
    const before = await snapshot();
    const bodies: unknown[] = [
      { code: '12345' },
      { code: '1234567' },
      { code: '12345a' },
      { code: 'abcdef' },
      { code: '１２３４５６' },
      { code: Number(good) },
      { code: null },
      { code: '' },
      {},
      { code: good, recoveryCode: user.recoveryCodes[0] },
      { code: good, token: good },
      { token: good, recoveryCode: user.recoveryCodes[0] },
      { recoveryCode: 'not a code' },
    ];
    for (const json of bodies) {
      const r = await api<{ issues: { path: string; message: string }[] }>('/otp-verify', { token, json });
      expectError(r, 400, 'validation_failed');
      expect(r.body.issues.length).toBeGreaterThan(0);
      for (const issue of r.body.issues) expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });
    }
    // The throttle row included: a malformed code is not a guess.
    expect(await snapshot()).toBe(before);
    expect(await otpFailures(user.id)).toBe(0);
    // The token is still good for the real code.
    expect((await api('/otp-verify', { token, json: { code: good } })).status).toBe(200);
  });

  it('401 invalid_code for a wrong code: one failure counted, no session, secret untouched, the token still usable', async () => {
    const user = await enrolled(T0 + 900);
    setNow(T0 + 930);
    const { token } = await signIn(user.username);
    const good = await totpAt(user.secret, T0 + 930);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
    const rows = await accountRows();
    const r = await api('/otp-verify', { token, json: { code: wrong } });
    expectError(r, 401, 'invalid_code');
    // RFC 9110 §15.5.2: every 401 has a challenge; the token is fine, so no error code (RFC 6750 §3.1).
    expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await accountRows()).toBe(rows);
    expect(await otpFailures(user.id)).toBe(1);
    expect((await api('/otp-verify', { token, json: { code: good } })).status).toBe(200);
    expect(await otpFailures(user.id)).toBe(0);
  });

  it('409 mfa_not_enrolled when the account has no secret at all; nothing stored', async () => {
    setNow(T0 + 1200);
    const user = await signUp();
    const { token } = await signIn(user.username);
    const before = await snapshot();
    expectError(await api('/otp-verify', { token, json: { code: '123456' } }), 409, 'mfa_not_enrolled');
    expectError(await api('/otp-verify', { token, json: { recoveryCode: 'ABCDE-FGHIJ' } }), 409, 'mfa_not_enrolled');
    expect(await snapshot()).toBe(before);
  });

  it('401 without a token; 413, 415 and 400 invalid_json before the code is looked at; nothing stored', async () => {
    const user = await enrolled(T0 + 1500);
    setNow(T0 + 1530);
    const { token } = await signIn(user.username);
    const good = await totpAt(user.secret, T0 + 1530);
    const before = await snapshot();
    expectUnauthorized(await api('/otp-verify', { json: { code: good } }));
    const json = { 'Content-Type': 'application/json' };
    expectError(await api('/otp-verify', { token, body: JSON.stringify({ code: good, pad: 'x'.repeat(16 * 1024) }), headers: json }), 413, 'payload_too_large');
    expectError(await api('/otp-verify', { token, body: JSON.stringify({ code: good }), headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(await api('/otp-verify', { token, method: 'POST' }), 415, 'unsupported_media_type');
    expectError(await api('/otp-verify', { token, body: `{"code": ${good}`, headers: json }), 400, 'invalid_json');
    expectError(await api('/otp-verify', { token, method: 'POST', headers: json }), 400, 'invalid_json');
    expect(await snapshot()).toBe(before);
    expect((await api('/otp-verify', { token, json: { code: good } })).status).toBe(200);
  });
});

describe('time window (RFC 6238 §5.2: one step either side)', () => {
  it('a code one step early and one step late is accepted; two steps off either way is refused', async () => {
    const user = await enrolled(T0 + 3000 + 15);

    // One step late: the authenticator's previous code.
    let now = T0 + 3300 + 15;
    setNow(now);
    let { token } = await signIn(user.username);
    expect((await api('/otp-verify', { token, json: { code: await totpAt(user.secret, now - STEP) } })).status).toBe(200);

    // One step early: the authenticator's clock runs ahead.
    now = T0 + 3600 + 15;
    setNow(now);
    ({ token } = await signIn(user.username));
    expect((await api('/otp-verify', { token, json: { code: await totpAt(user.secret, now + STEP) } })).status).toBe(200);

    // Two steps off, both ways: refused, though no newer step was ever used.
    now = T0 + 3900 + 15;
    setNow(now);
    ({ token } = await signIn(user.username));
    const rows = await accountRows();
    expectError(await api('/otp-verify', { token, json: { code: await totpAt(user.secret, now - 2 * STEP) } }), 401, 'invalid_code');
    expectError(await api('/otp-verify', { token, json: { code: await totpAt(user.secret, now + 2 * STEP) } }), 401, 'invalid_code');
    expect(await accountRows()).toBe(rows);
    // The control: the current code still works on the same token.
    expect((await api('/otp-verify', { token, json: { code: await totpAt(user.secret, now) } })).status).toBe(200);
  });
});

describe('replay (a code, once accepted, is never accepted again, nor one from an earlier step)', () => {
  it('the enrollment code is refused at the next login, and so is the previous step\'s code', async () => {
    const enrolledAt = T0 + 4500 + 15;
    const user = await enrolled(enrolledAt);
    const enrollmentCode = await totpAt(user.secret, enrolledAt);
    const stepBefore = (await storedUser(user.id)).totp_last_step;
    expect(stepBefore).toBe(Math.floor(enrolledAt / STEP));

    setNow(enrolledAt + 5); // the same step: the code is still within its window
    const { token } = await signIn(user.username);
    const rows = await accountRows();
    expectError(await api('/otp-verify', { token, json: { code: enrollmentCode } }), 401, 'invalid_code');
    expectError(await api('/otp-verify', { token, json: { code: await totpAt(user.secret, enrolledAt - STEP) } }), 401, 'invalid_code');
    expect(await accountRows()).toBe(rows);

    // The next step's code is new and works.
    setNow(enrolledAt + STEP);
    expect((await api('/otp-verify', { token, json: { code: await totpAt(user.secret, enrolledAt + STEP) } })).status).toBe(200);
  });

  it('a login code is refused on the next login within its window', async () => {
    const user = await enrolled(T0 + 6000 + 15);
    const at = T0 + 6300 + 10;
    setNow(at);
    const first = await signIn(user.username);
    const code = await totpAt(user.secret, at);
    expect((await api('/otp-verify', { token: first.token, json: { code } })).status).toBe(200);
    expect((await storedUser(user.id)).totp_last_step).toBe(Math.floor(at / STEP));

    setNow(at + 25); // the next step: the used code would still be inside the window
    const second = await signIn(user.username);
    const rows = await accountRows();
    const replay = await api('/otp-verify', { token: second.token, json: { code } });
    expectError(replay, 401, 'invalid_code');
    expect(await accountRows()).toBe(rows);
  });
});

describe('one success each for recovery codes (their lifecycle is tested with /disable-otp)', () => {
  it('/otp-verify with { recoveryCode } gives a full token with amr pwd+rec; /recovery-codes issues a fresh set of ten', async () => {
    const user = await enrolled(T0 + 7000);
    expect(user.recoveryCodes).toHaveLength(10);
    setNow(T0 + 7030);
    const { token } = await signIn(user.username);
    const r = await api<VerifiedBody>('/otp-verify', { token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ token: expect.any(String), refreshToken: expect.stringMatching(/^rt1\./), authorized: true, expiresIn: 900 });
    expect(decodeJwtPayload(r.body.token)).toMatchObject({ authorized: true, amr: ['pwd', 'rec'] });
    const me = await api('/me', { token: r.body.token });
    expect(me.body).toMatchObject({ recoveryCodesRemaining: 9 });

    const fresh = await api<{ recoveryCodes: string[] }>('/recovery-codes', { method: 'POST', token: r.body.token });
    expect(fresh.status).toBe(201);
    expect(fresh.body.recoveryCodes).toHaveLength(10);
    expect(new Set(fresh.body.recoveryCodes).size).toBe(10);
    expect(fresh.body.recoveryCodes).not.toContain(user.recoveryCodes[1]);
    expect((await api('/me', { token: r.body.token })).body).toMatchObject({ recoveryCodesRemaining: 10 });
  });
});
