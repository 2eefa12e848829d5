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
 *
 * "Every" is checked against the declarations, not remembered: /openapi.json
 * (one entry per declared route, the provider's hosted steps included) must
 * hold exactly the routes sorted below into FACTOR_ROUTES and OTHER_ROUTES (a
 * new route fails the first test until someone says which it is), and the
 * last test fails unless the walks reached every one of FACTOR_ROUTES. The
 * first walk's list was written by hand and missed the provider's hosted
 * sign-in steps (POST /authorize/password, /otp, /recovery, /passkey,
 * /enroll, /signup) and the refusals of /reauthenticate and /disable-otp.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, callOn, loginUser, PASSWORD, registerUser, setNow, totpAt, uniqueName, useRealTime } from '../helpers';
import { SoftwareAuthenticator } from '../webauthn/authenticator';
import { addPasskey, assertionResponse, loginVerify, options, passkeyUser } from '../features/passkeys/support';
import { freshIp, passwordlessSignin } from '../features/passkeys/signin-support';
import { adminCall } from '../features/self-service/support';
import { wrongCode } from './support';
import { authorizePath, Browser, opEnv, pkce, registerClient, stepFields, type Answer } from '../features/oidc/support';
import { passkeySignin } from '../features/oidc/passwordless-support';
import { handleOf, ORIGIN, RP_ID } from '../features/passkeys/support';

afterEach(useRealTime);

const T0 = 1_950_500_010;

type Event = [type: string, method: string | null];

/**
 * The routes that change or prove a factor (TOTP, recovery codes, passkeys, the
 * password, step-up, support's actions on them), as /openapi.json names them.
 * Each must be reached by a walk below that expects its events.
 */
const FACTOR_ROUTES = [
  'POST /login',
  'POST /create-otp',
  'POST /otp-verify',
  'POST /recovery-codes',
  'POST /disable-otp',
  'POST /reauthenticate',
  'POST /webauthn/register/verify',
  'POST /webauthn/login/verify',
  'POST /webauthn/signin/verify',
  'DELETE /webauthn/credentials/{id}',
  'POST /password',
  'POST /password/reset',
  'POST /admin/users/{id}/reset-mfa',
  'POST /admin/users/{id}/unlock',
  'POST /admin/users/{id}/password-reset',
  // The provider's hosted sign-in (features/oidc/routes-steps.ts).
  'POST /authorize/password',
  'POST /authorize/otp',
  'POST /authorize/recovery',
  'POST /authorize/passkey',
  'POST /authorize/enroll',
  'POST /authorize/signup',
  'POST /authorize/passkey-signin',
] as const;

/** Every other declared route, and why it neither changes nor proves a factor. */
const OTHER_ROUTES: Record<string, string> = {
  'POST /register': 'makes an account whose log starts empty; its first sign-in (POST /login) is logged',
  'DELETE /me': 'proves the password and deletes the account with its whole log: nothing is left to write to (a wrong password leaves password_failed, walked above)',
  'GET /qrcode': 'shows the pending secret POST /create-otp made (logged there)',
  'POST /webauthn/register/options': 'a challenge; nothing is proven or stored until verify',
  'POST /webauthn/login/options': 'a challenge; nothing is proven until verify',
  'POST /webauthn/signin/options': 'a challenge naming no user; nothing is proven until verify',
  'GET /webauthn/credentials': 'reads',
  'GET /me': 'reads',
  'GET /sessions': 'reads',
  'GET /me/security-events': 'reads the log',
  'POST /refresh': 'rotates a refresh token and proves no factor; a reuse is logged (refresh_token_reused)',
  'DELETE /sessions/{id}': 'ends a session (session_ended), no factor',
  'POST /logout': 'ends sessions (session_ended), no factor',
  'GET /admin/users': 'support reads',
  'GET /.well-known/jwks.json': 'public keys',
  'GET /health': 'liveness',
  'GET /openapi.json': 'the document',
  'GET /': 'the page',
  'POST /admin/clients': 'the provider\'s client registry, no account',
  'GET /admin/clients': 'the provider\'s client registry, no account',
  'GET /admin/clients/{id}': 'the provider\'s client registry, no account',
  'PATCH /admin/clients/{id}': 'the provider\'s client registry, no account',
  'DELETE /admin/clients/{id}': 'the provider\'s client registry, no account',
  'POST /admin/clients/{id}/secret': 'a client\'s secret, not a person\'s factor',
  'GET /me/grants': 'reads',
  'DELETE /me/grants/{clientId}': 'revokes an application\'s access (oidc_grant_revoked), no factor',
  'GET /authorize': 'starts a sign-in; the steps below prove the factors',
  'POST /authorize': 'starts a sign-in (form_post); the steps prove the factors',
  'POST /authorize/continue': 'continues a proven sign-in',
  'POST /authorize/consent': 'consent (oidc_consent_granted or _denied), no factor',
  'GET /authorize/signup': 'the sign-up form',
  'POST /token': 'exchanges a code or refresh token of a client (oidc_code_*), no factor',
  'GET /userinfo': 'reads',
  'POST /userinfo': 'reads',
  'POST /revoke': 'revokes a client\'s token (oidc_token_revoked), no factor',
  'GET /end-session': 'ends a provider session (session_ended), no factor',
  'POST /end-session': 'ends a provider session (session_ended), no factor',
  'GET /.well-known/openid-configuration': 'discovery',
  'GET /.well-known/oauth-authorization-server': 'discovery',
};

/** The routes the walks expected events of: "POST /otp-verify (wrong code)" counts as POST /otp-verify. */
const walked = new Set<string>();

/** Asserts that `what` left exactly `events`, and records its route as walked. */
async function expectEvents(since: () => Promise<Event[]>, what: string, events: Event[]) {
  walked.add(what.replace(/ \(.*\)$/, ''));
  expect(await since(), what).toEqual(events);
}

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
    const expectOne = (what: string, event: Event) => expectEvents(since, what, [event]);

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

    // Step-up by code and by recovery code, a wrong one of each; new recovery codes.
    tick();
    expect((await call('/reauthenticate', { token: full.body.token, json: { code: await wrongCode(secret, now) } })).status).toBe(401);
    await expectOne('POST /reauthenticate (wrong code)', ['code_failed', 'otp']);
    expect((await call('/reauthenticate', { token: full.body.token, json: { recoveryCode: 'ABCDE-FGHIJ' } })).status).toBe(401);
    await expectOne('POST /reauthenticate (wrong recovery code)', ['code_failed', 'rec']);
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
    const forged = { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(authenticator, user.id, opts, { tamper: true }) } };
    expect((await call('/reauthenticate', { token: byPasskey.body.token, json: forged })).status).toBe(401);
    await expectOne('POST /reauthenticate (refused passkey)', ['passkey_refused', 'pop']);
    opts = await options('login', byPasskey.body.token);
    full = await call<Tokens>('/reauthenticate', { token: byPasskey.body.token, json: { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(authenticator, user.id, opts) } } });
    expect(full.status).toBe(200);
    await expectOne('POST /reauthenticate (passkey)', ['reauthenticated', 'pop']);
    const second = await SoftwareAuthenticator.create(-7);
    const added = await addPasskey(full.body.token, second);
    await expectOne('POST /webauthn/register/verify', ['passkey_added', 'pop']);
    expect((await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: full.body.token })).status).toBe(204);
    await expectOne('DELETE /webauthn/credentials/{id}', ['passkey_removed', 'pop']);

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
    // A wrong current password in a signed-in session (a session thief guessing) is told to the owner.
    expect((await call('/password', { token: full.body.token, json: { currentPassword: 'not the password at all', newPassword } })).status).toBe(401);
    await expectOne('POST /password (wrong current password)', ['password_failed', 'pwd']);
    expect((await call('/me', { method: 'DELETE', token: full.body.token, json: { password: 'not the password at all' } })).status).toBe(401);
    await expectOne('DELETE /me (wrong password)', ['password_failed', 'pwd']);
    expect((await call('/password', { token: full.body.token, json: { currentPassword: PASSWORD, newPassword } })).status).toBe(200);
    await expectOne('POST /password', ['password_changed', 'pwd']);

    // Turning TOTP off (the passkey stays), after a wrong code.
    expect((await call('/disable-otp', { token: full.body.token, json: { code: await wrongCode(again.body.secret, now) } })).status).toBe(401);
    await expectOne('POST /disable-otp (wrong code)', ['code_failed', 'otp']);
    expect((await call('/disable-otp', { token: full.body.token, json: { password: PASSWORD } })).status).toBe(401);
    await expectOne('POST /disable-otp (wrong password)', ['password_failed', 'pwd']);
    expect((await call('/disable-otp', { token: full.body.token, json: { password: newPassword } })).status).toBe(200);
    await expectOne('POST /disable-otp', ['mfa_disabled', 'otp']);

    // Support.
    expect((await adminCall(`/admin/users/${user.id}/unlock`, { json: { reason: 'walk' } })).status).toBe(200);
    await expectOne('POST /admin/users/{id}/unlock', ['admin_unlock', null]);
    const issued = await adminCall<{ resetToken: string }>(`/admin/users/${user.id}/password-reset`, { json: { reason: 'walk' } });
    expect(issued.status).toBe(201);
    await expectOne('POST /admin/users/{id}/password-reset', ['admin_password_reset_issued', null]);
    expect((await call('/password/reset', { json: { resetToken: issued.body.resetToken, newPassword: PASSWORD } })).status).toBe(200);
    await expectOne('POST /password/reset', ['password_reset', 'pwd']);
    expect((await adminCall(`/admin/users/${user.id}/reset-mfa`, { json: { reason: 'walk' } })).status).toBe(200);
    await expectOne('POST /admin/users/{id}/reset-mfa', ['admin_mfa_reset', null]);

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
    await expectEvents(since, 'POST /webauthn/signin/verify', [['passkey_signin', 'pop']]);
  });

  it('a passwordless sign-in on the provider\'s page: the JSON twin\'s one event, passkey_signin with method pop; a refused one none (as the JSON route: its cost must not tell whether the credential exists)', async () => {
    const user = await passkeyUser(T0);
    const workerEnv = opEnv();
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    const since = eventLog(user.id);
    await since();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const page = await browser.get(authorizePath(client.clientId, challenge));
    const refused = await passkeySignin(browser, page, user.authenticator, user.id, { flags: { uv: false } });
    expect(refused.answer.status).toBe(200);
    expect(await since(), 'POST /authorize/passkey-signin (refused: no UV)').toEqual([]);
    const retry = await browser.get(authorizePath(client.clientId, challenge));
    const { answer } = await passkeySignin(browser, retry, user.authenticator, user.id);
    expect(answer.status, answer.text.slice(0, 300)).toBe(303);
    await expectEvents(since, 'POST /authorize/passkey-signin', [['passkey_signin', 'pop']]);
  });

  it('the provider\'s hosted sign-in steps leave the events of their JSON twins, a step that signs in and starts an enrollment both', async () => {
    const workerEnv = opEnv();
    const client = await registerClient(workerEnv, { firstParty: true });
    let now = T0 + 1_000;
    setNow(now);
    const tick = () => setNow((now += 30));
    const { challenge } = await pkce();
    /** A new browser (no provider session) at the password step of a sign-in. */
    const start = async () => {
      const browser = new Browser(workerEnv);
      const page = await browser.get(authorizePath(client.clientId, challenge));
      expect(page.status).toBe(200);
      return { browser, page };
    };
    const password = async (browser: Browser, page: Answer, username: string) => {
      const next = await browser.post('/authorize/password', { ...stepFields(page.text), username, password: PASSWORD });
      expect(next.status, next.text.slice(0, 300)).toBe(200);
      return next;
    };

    // Sign-up: the account, its first sign-in and the start of its enrollment, in one step.
    let { browser, page } = await start();
    const signupLink = /href="(\/authorize\/signup\?ticket=[^"]+)"/.exec(page.text)![1]!.replace(/&amp;/g, '&');
    const signupForm = await browser.get(signupLink);
    const username = uniqueName('walk');
    const enroll = await browser.post('/authorize/signup', { ...stepFields(signupForm.text), username, password: PASSWORD });
    expect(enroll.status).toBe(200);
    const { id: userId } = (await env.DB.prepare('SELECT id FROM users WHERE username = ?').bind(username).first<{ id: string }>())!;
    const since = eventLog(userId);
    await expectEvents(since, 'POST /authorize/signup', [['login', 'pwd'], ['enrollment_started', 'otp']]);
    const secret = new URL(/href="(otpauth:\/\/totp\/[^"]+)"/.exec(enroll.text)![1]!.replace(/&amp;/g, '&')).searchParams.get('secret')!;
    expect((await browser.post('/authorize/enroll', { ...stepFields(enroll.text), code: await wrongCode(secret, now) })).text).toMatch(/role="alert"/);
    await expectEvents(since, 'POST /authorize/enroll (wrong code)', [['code_failed', 'otp']]);
    const codesPage = await browser.post('/authorize/enroll', { ...stepFields(enroll.text), code: await totpAt(secret, now) });
    expect(codesPage.status).toBe(200);
    await expectEvents(since, 'POST /authorize/enroll', [['enrollment_confirmed', 'otp']]);
    const recoveryCode = /<li><code>([^<]+)<\/code>/.exec(codesPage.text)![1]!;

    // The second step by code (a wrong one first), by recovery code, by passkey (a refused one first).
    tick();
    ({ browser, page } = await start());
    let second = await password(browser, page, username);
    await expectEvents(since, 'POST /authorize/password', [['login', 'pwd']]);
    second = await browser.post('/authorize/otp', { ...stepFields(second.text), code: await wrongCode(secret, now) });
    expect(second.text).toMatch(/role="alert"/);
    await expectEvents(since, 'POST /authorize/otp (wrong code)', [['code_failed', 'otp']]);
    expect((await browser.post('/authorize/otp', { ...stepFields(second.text), code: await totpAt(secret, now) })).status).toBe(303);
    await expectEvents(since, 'POST /authorize/otp', [['mfa_verified', 'otp']]);

    ({ browser, page } = await start());
    second = await password(browser, page, username);
    await since();
    second = await browser.post('/authorize/recovery', { ...stepFields(second.text), recoveryCode: 'ABCDE-FGHIJ' });
    expect(second.text).toMatch(/role="alert"/);
    await expectEvents(since, 'POST /authorize/recovery (wrong recovery code)', [['code_failed', 'rec']]);
    expect((await browser.post('/authorize/recovery', { ...stepFields(second.text), recoveryCode })).status).toBe(303);
    await expectEvents(since, 'POST /authorize/recovery', [['recovery_code_used', 'rec']]);

    // A passkey beside the TOTP secret (through the JSON API, walked above).
    tick();
    const login = await loginUser(username);
    const full = await call<Tokens>('/otp-verify', { token: login.token, json: { code: await totpAt(secret, now) } });
    const authenticator = await SoftwareAuthenticator.create(-7);
    expect((await addPasskey(full.body.token, authenticator)).status).toBe(201);
    ({ browser, page } = await start());
    second = await password(browser, page, username);
    await since();
    const stale = await authenticator.assert(new Uint8Array(32), { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(userId) });
    second = await browser.post('/authorize/passkey', { ...stepFields(second.text), challengeId: embeddedOptions(second.text).challengeId, response: JSON.stringify(stale) });
    expect(second.text).toMatch(/role="alert">The passkey was refused/);
    await expectEvents(since, 'POST /authorize/passkey (refused)', [['passkey_refused', 'pop']]);
    const offer = embeddedOptions(second.text);
    const assertion = await authenticator.assert(offer.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(userId) });
    expect((await browser.post('/authorize/passkey', { ...stepFields(second.text), challengeId: offer.challengeId, response: JSON.stringify(assertion) })).status).toBe(303);
    await expectEvents(since, 'POST /authorize/passkey', [['mfa_verified', 'pop']]);

    // An account with no factor left (support reset it): the password step signs in and starts the enrollment.
    expect((await adminCall(`/admin/users/${userId}/reset-mfa`, { json: { reason: 'walk' } })).status).toBe(200);
    await since();
    ({ browser, page } = await start());
    await password(browser, page, username);
    await expectEvents(since, 'POST /authorize/password (no factor: enrollment starts)', [['login', 'pwd'], ['enrollment_started', 'otp']]);
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

  it('the declarations: every route in /openapi.json is sorted into FACTOR_ROUTES or OTHER_ROUTES', async () => {
    const document = await callOn<{ paths: Record<string, Record<string, unknown>> }>(opEnv(), '/openapi.json');
    const declared = Object.entries(document.body.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    const sorted = [...FACTOR_ROUTES, ...Object.keys(OTHER_ROUTES)];
    // A route declared and in neither list: does it change or prove a factor? Say so above, and walk it if it does.
    expect(declared.filter((route) => !sorted.includes(route)).sort()).toEqual([]);
    // A listed route that is no longer declared: the lists follow the declarations.
    expect(sorted.filter((route) => !declared.includes(route)).sort()).toEqual([]);
    expect(FACTOR_ROUTES.filter((route) => route in OTHER_ROUTES)).toEqual([]);
  });

  // Last: the walks above ran first (vitest runs a file's tests in order).
  it('the walks reached every route of FACTOR_ROUTES', () => {
    expect(FACTOR_ROUTES.filter((route) => !walked.has(route))).toEqual([]);
  });
});

/** The passkey options a hosted second-factor page embeds (its challenge id and challenge). */
function embeddedOptions(html: string): { challengeId: string; challenge: Uint8Array } {
  const json = /<script type="application\/json" id="passkey-options">([^<]*)<\/script>/.exec(html)![1]!;
  const challenge = JSON.parse(json).challenge as string;
  const bytes = Uint8Array.from(atob(challenge.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (challenge.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
  return { challengeId: /name="challengeId" value="([^"]+)"/.exec(html)![1]!, challenge: bytes };
}
