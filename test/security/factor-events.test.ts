/**
 * Attack: a session thief adds their own passkey (or proves one, or removes the
 * owner's) and the owner's security log shows nothing. Passkey activity wrote
 * only a console line: the event types were declared, offered in /openapi.json,
 * and never stored (OWASP ASVS 5.0 V6.3.7, V16.3.1; NIST SP 800-63B-4 §4.6).
 *
 * So that the next factor cannot repeat this, this suite walks EVERY route that
 * changes or proves a factor, and each failure that is counted, and expects
 * exactly one event for each (two where a failure also sets a lock), with the
 * factor it concerned as `method` (RFC 8176 amr values).
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, loginUser, PASSWORD, registerUser, setNow, totpAt, useRealTime } from '../helpers';
import { SoftwareAuthenticator } from '../webauthn/authenticator';
import { addPasskey, assertionResponse, loginVerify, options, passkeyUser } from '../features/passkeys/support';
import { freshIp, passwordlessSignin } from '../features/passkeys/signin-support';
import { adminCall } from '../features/self-service/support';
import { wrongCode } from './support';

afterEach(useRealTime);

const T0 = 1_950_500_010;

type Event = [type: string, method: string | null];

/** Reads the events a user gained since the last read. */
function eventLog(userId: string) {
  let seen = 0;
  return async function since(): Promise<Event[]> {
    const { results } = await env.DB.prepare('SELECT seq, type, method FROM security_events WHERE user_id = ? AND seq > ? ORDER BY seq')
      .bind(userId, seen)
      .all<{ seq: number; type: string; method: string | null }>();
    if (results.length > 0) seen = results[results.length - 1]!.seq;
    return results.map((row) => [row.type, row.method]);
  };
}

type Tokens = { token: string; refreshToken: string; recoveryCodes?: string[] };

describe('every route that changes or proves a factor leaves exactly one event in the owner\'s log', () => {
  it('password, TOTP, recovery codes, passkeys, step-up by each factor, password change and reset, support actions', async () => {
    let now = T0;
    setNow(now);
    const tick = (seconds = 30) => setNow((now += seconds));
    const user = await registerUser();
    const since = eventLog(user.id);
    const expectOne = async (what: string, event: Event) => expect(await since(), what).toEqual([event]);

    // Password; TOTP enrollment.
    const { token: pwd } = await loginUser(user.username);
    await expectOne('POST /login', ['login', 'pwd']);
    const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: pwd });
    expect(created.status).toBe(201);
    await expectOne('POST /create-otp', ['enrollment_started', 'otp']);
    const secret = created.body.secret;
    const enrolled = await call<Tokens>('/otp-verify', { token: pwd, json: { code: await totpAt(secret, now) } });
    expect(enrolled.status).toBe(200);
    await expectOne('POST /otp-verify (enrollment)', ['enrollment_confirmed', 'otp']);
    const codes = enrolled.body.recoveryCodes!;

    // The second step by code and by recovery code; a wrong one of each.
    tick();
    let login = await loginUser(user.username);
    await expectOne('POST /login', ['login', 'pwd']);
    expect((await call('/otp-verify', { token: login.token, json: { code: await wrongCode(secret, now) } })).status).toBe(401);
    await expectOne('POST /otp-verify (wrong code)', ['code_failed', 'otp']);
    expect((await call('/otp-verify', { token: login.token, json: { recoveryCode: 'ABCDE-FGHIJ' } })).status).toBe(401);
    await expectOne('POST /otp-verify (wrong recovery code)', ['code_failed', 'rec']);
    let full = await call<Tokens>('/otp-verify', { token: login.token, json: { code: await totpAt(secret, now) } });
    expect(full.status).toBe(200);
    await expectOne('POST /otp-verify (code)', ['mfa_verified', 'otp']);
    login = await loginUser(user.username);
    await since();
    expect((await call('/otp-verify', { token: login.token, json: { recoveryCode: codes[0] } })).status).toBe(200);
    await expectOne('POST /otp-verify (recovery code)', ['recovery_code_used', 'rec']);

    // Step-up by code and by recovery code; new recovery codes.
    tick();
    full = await call<Tokens>('/reauthenticate', { token: full.body.token, json: { code: await totpAt(secret, now) } });
    expect(full.status).toBe(200);
    await expectOne('POST /reauthenticate (code)', ['reauthenticated', 'otp']);
    full = await call<Tokens>('/reauthenticate', { token: full.body.token, json: { recoveryCode: codes[1] } });
    expect(full.status).toBe(200);
    await expectOne('POST /reauthenticate (recovery code)', ['recovery_code_used', 'rec']);
    expect((await call('/recovery-codes', { method: 'POST', token: full.body.token })).status).toBe(201);
    await expectOne('POST /recovery-codes', ['recovery_codes_regenerated', 'rec']);

    // Passkeys: added beside TOTP, the second step, step-up, a refused assertion, removal.
    const authenticator = await SoftwareAuthenticator.create(-7);
    expect((await addPasskey(full.body.token, authenticator)).status).toBe(201);
    await expectOne('POST /webauthn/register/verify', ['passkey_added', 'pop']);
    tick();
    login = await loginUser(user.username);
    await since();
    let opts = await options('login', login.token);
    expect((await loginVerify(login.token, opts.challengeId, await assertionResponse(authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
    await expectOne('POST /webauthn/login/verify (refused)', ['passkey_refused', 'pop']);
    opts = await options('login', login.token);
    const byPasskey = await loginVerify(login.token, opts.challengeId, await assertionResponse(authenticator, user.id, opts));
    expect(byPasskey.status).toBe(200);
    await expectOne('POST /webauthn/login/verify', ['mfa_verified', 'pop']);
    opts = await options('login', byPasskey.body.token);
    full = await call<Tokens>('/reauthenticate', { token: byPasskey.body.token, json: { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(authenticator, user.id, opts) } } });
    expect(full.status).toBe(200);
    await expectOne('POST /reauthenticate (passkey)', ['reauthenticated', 'pop']);
    const second = await SoftwareAuthenticator.create(-7);
    const added = await addPasskey(full.body.token, second);
    await expectOne('POST /webauthn/register/verify', ['passkey_added', 'pop']);
    expect((await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: full.body.token })).status).toBe(204);
    await expectOne('DELETE /webauthn/credentials/:id', ['passkey_removed', 'pop']);

    // TOTP re-enrollment with a full token.
    const again = await call<{ secret: string }>('/create-otp', { method: 'POST', token: full.body.token });
    expect(again.status).toBe(201);
    await expectOne('POST /create-otp (re-enrollment)', ['enrollment_started', 'otp']);
    tick();
    const reenrolled = await call<Tokens>('/otp-verify', { token: full.body.token, json: { code: await totpAt(again.body.secret, now) } });
    expect(reenrolled.status).toBe(200);
    await expectOne('POST /otp-verify (re-enrollment)', ['enrollment_confirmed', 'otp']);
    full = reenrolled;

    // The password.
    const newPassword = 'a different horse battery staple';
    expect((await call('/password', { token: full.body.token, json: { currentPassword: PASSWORD, newPassword } })).status).toBe(200);
    await expectOne('POST /password', ['password_changed', 'pwd']);

    // Turning TOTP off (the passkey stays).
    expect((await call('/disable-otp', { token: full.body.token, json: { password: newPassword } })).status).toBe(200);
    await expectOne('POST /disable-otp', ['mfa_disabled', 'otp']);

    // Support.
    expect((await adminCall(`/admin/users/${user.id}/unlock`, { json: { reason: 'walk' } })).status).toBe(200);
    await expectOne('POST /admin/users/:id/unlock', ['admin_unlock', null]);
    const issued = await adminCall<{ resetToken: string }>(`/admin/users/${user.id}/password-reset`, { json: { reason: 'walk' } });
    expect(issued.status).toBe(201);
    await expectOne('POST /admin/users/:id/password-reset', ['admin_password_reset_issued', null]);
    expect((await call('/password/reset', { json: { resetToken: issued.body.resetToken, newPassword: PASSWORD } })).status).toBe(200);
    await expectOne('POST /password/reset', ['password_reset', 'pwd']);
    expect((await adminCall(`/admin/users/${user.id}/reset-mfa`, { json: { reason: 'walk' } })).status).toBe(200);
    await expectOne('POST /admin/users/:id/reset-mfa', ['admin_mfa_reset', null]);

    // The owner reads them, each with its method.
    tick();
    login = await loginUser(user.username);
    await since();
    const enrollment = await addPasskey(login.token, authenticator);
    expect(enrollment.status).toBe(201);
    await expectOne('POST /webauthn/register/verify (a first enrollment)', ['passkey_added', 'pop']);
    const page = await call<{ events: { type: string; method: string | null }[] }>('/me/security-events?limit=3', { token: enrollment.body.token! });
    expect(page.body.events.map((e) => [e.type, e.method])).toEqual([
      ['passkey_added', 'pop'],
      ['login', 'pwd'],
      ['admin_mfa_reset', null],
    ]);
  });

  it('a passwordless passkey sign-in: exactly one event, passkey_signin with method pop', async () => {
    const user = await passkeyUser(T0);
    const since = eventLog(user.id);
    await since();
    setNow(T0 + 30);
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    expect(await since()).toEqual([['passkey_signin', 'pop']]);
  });

  it('the passkey lock: the failure that sets it leaves passkey_refused and locked, both with method pop', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const enrolled = await addPasskey(token, authenticator);
    expect(enrolled.status).toBe(201);
    const since = eventLog(user.id);
    await since();
    setNow(T0 + 30);
    const login = await loginUser(user.username);
    await since();
    for (let i = 1; i <= 5; i++) {
      const opts = await options('login', login.token);
      expect((await loginVerify(login.token, opts.challengeId, await assertionResponse(authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
      expect(await since(), `failure ${i}`).toEqual(i < 5 ? [['passkey_refused', 'pop']] : [['passkey_refused', 'pop'], ['locked', 'pop']]);
    }
    // During the lock nothing is counted and nothing is written.
    const opts = await options('login', login.token);
    expect((await loginVerify(login.token, opts.challengeId, await assertionResponse(authenticator, user.id, opts))).status).toBe(429);
    expect(await since()).toEqual([]);
  });
});
