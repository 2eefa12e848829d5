import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, totpAt, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, type Client, codeOf, enrolled, type Enrolled, exchangeCode, ISSUER, opEnv, PASSWORD, pkce, REDIRECT, registerClient, send, signIn, stepFields, T0, tokenRequest } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();
let firstParty: Client;
let thirdParty: Client;
let anotherThirdParty: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  firstParty = await registerClient(workerEnv, { firstParty: true });
  thirdParty = await registerClient(workerEnv, { name: 'Third party' });
  anotherThirdParty = await registerClient(workerEnv, { name: 'Another' });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

async function codeCount(userId: string): Promise<number> {
  return (await env.DB.prepare('SELECT COUNT(*) AS n FROM oidc_codes WHERE user_id = ?').bind(userId).first<{ n: number }>())!.n;
}

/** The browser after the password step: the second-factor page. */
async function afterPassword(browser: Browser, user: Enrolled, path: string, now: number) {
  setNow(now);
  const start = await browser.get(path);
  return browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
}

describe('CSRF on the hosted forms', () => {
  it('a cross-site POST, a missing or wrong token, or another browser’s token: 403, and nothing counted', async () => {
    // Story: a page on another site auto-submits our password form (login CSRF) or replays a token it saw.
    const user = await enrolled(workerEnv, T0, uniqueName('csrf'));
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const start = await browser.get(authorizePath(firstParty.clientId, challenge));
    const fields = { ...stepFields(start.text), username: user.username, password: PASSWORD };
    const crossSite = await browser.post('/authorize/password', fields, { 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect((await browser.post('/authorize/password', fields, { Origin: 'https://attacker.test' })).status).toBe(403);
    expect((await browser.post('/authorize/password', fields, { Origin: 'null' })).status).toBe(403);
    expect((await browser.post('/authorize/password', { ...fields, csrf: undefined })).status).toBe(403);
    expect((await browser.post('/authorize/password', { ...fields, csrf: 'A'.repeat(43) })).status).toBe(403);
    // The same fields from a browser that never got this page (no flow cookie of its own).
    expect((await new Browser(workerEnv).post('/authorize/password', fields)).status).toBe(403);
    // A tampered ticket (another client or redirect) does not verify.
    expect((await browser.post('/authorize/password', { ...fields, ticket: fields.ticket.replace(/^./, (ch) => (ch === 'e' ? 'f' : 'e')) })).status).toBe(400);
    const row = await env.DB.prepare('SELECT pwd_failures FROM users WHERE id = ?').bind(user.id).first<{ pwd_failures: number }>();
    expect(row!.pwd_failures).toBe(0);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?').bind(user.id).first<{ n: number }>()).toEqual({ n: 1 });
    // The genuine POST works.
    const ok = await browser.post('/authorize/password', fields);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('autocomplete="one-time-code"');
  });
});

describe('no code without a second factor, on any path', () => {
  it('posting straight to the code or consent steps, or going back a step, shows the sign-in page and writes no code', async () => {
    // Story: someone who knows the password only tries every way around the code step.
    const user = await enrolled(workerEnv, T0, uniqueName('skip'));
    const browser = new Browser(workerEnv);
    const second = await afterPassword(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    expect(second.text).toContain('name="recoveryCode"');
    const fields = stepFields(second.text);
    for (const path of ['/authorize/continue', '/authorize/consent']) {
      const skipped = await browser.post(path, { ...fields, decision: 'allow' });
      expect(skipped.status, path).toBe(200);
      expect(skipped.location, path).toBeNull();
      expect(skipped.text, path).toContain('autocomplete="current-password"');
    }
    // Back to /authorize with the password-only state: the sign-in page again, never a code.
    const back = await browser.get(authorizePath(firstParty.clientId, challenge));
    expect(back.status).toBe(200);
    expect(back.location).toBeNull();
    // prompt=none with only a password behind it: login_required.
    const silent = await browser.get(authorizePath(firstParty.clientId, challenge, { prompt: 'none' }));
    expect(new URL(silent.location!).searchParams.get('error')).toBe('login_required');
    // A wrong code: the same form, the reason in role="alert".
    const wrong = await browser.post('/authorize/otp', { ...fields, code: '000000' });
    expect(wrong.status).toBe(200);
    expect(wrong.text).toMatch(/role="alert"/);
    expect(await codeCount(user.id)).toBe(0);
    // A fresh browser posting the code step with the first one's form: no login cookie, so the password again.
    const other = new Browser(workerEnv);
    other.jar.set('__Host-edge-mfa-flow', browser.jar.get('__Host-edge-mfa-flow')!);
    const straight = await other.post('/authorize/otp', { ...fields, code: await totpAt(user.secret, T0 + 60) });
    expect(straight.text).toContain('autocomplete="current-password"');
    expect(await codeCount(user.id)).toBe(0);
  });

  it('a password-only session named by a forged provider cookie gets no code', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('forge'));
    const browser = new Browser(workerEnv);
    await afterPassword(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    const passwordOnly = await env.DB.prepare('SELECT id FROM sessions WHERE user_id = ? AND authorized = 0').bind(user.id).first<{ id: string }>();
    browser.jar.set('__Host-edge-mfa-op', `${passwordOnly!.id}.${'A'.repeat(43)}`);
    const answer = await browser.get(authorizePath(firstParty.clientId, challenge));
    expect(answer.status).toBe(200);
    expect(answer.location).toBeNull();
    expect(await codeCount(user.id)).toBe(0);
  });

  it('the factor failures count toward the account’s code throttle, as /otp-verify’s do', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('throttle'));
    const browser = new Browser(workerEnv);
    const second = await afterPassword(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    for (let i = 0; i < 5; i++) await browser.post('/authorize/otp', { ...stepFields(second.text), code: '000000' });
    const locked = await browser.post('/authorize/otp', { ...stepFields(second.text), code: await totpAt(user.secret, T0 + 30) });
    expect(locked.text).toMatch(/role="alert">Too many attempts/);
    const row = await env.DB.prepare('SELECT otp_failures, otp_locked_until FROM users WHERE id = ?').bind(user.id).first<{ otp_failures: number; otp_locked_until: number }>();
    expect(row!.otp_failures).toBe(5);
    expect(row!.otp_locked_until).toBeGreaterThan(T0 + 30);
  });
});

describe('consent', () => {
  it('is asked once per scope set, remembered, and one client’s consent is never another’s', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('consent'));
    const browser = new Browser(workerEnv);
    const consent = await signIn(browser, user, authorizePath(thirdParty.clientId, challenge), T0 + 30);
    expect(consent.status).toBe(200);
    expect(consent.text).toMatch(/<button type="submit" name="decision" value="allow">/);
    expect(consent.text).toMatch(/<button type="submit" name="decision" value="deny">/);
    expect(consent.headers.get('Content-Security-Policy')).toContain('https://rp.example');
    expect(await codeCount(user.id)).toBe(0);
    // Story: the consent form of one client posted with another client's ticket (signed, so it cannot be edited).
    const another = await browser.get(authorizePath(anotherThirdParty.clientId, challenge));
    expect(another.text).toMatch(/name="decision" value="allow"/);
    const allowed = await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' });
    expect(allowed.status).toBe(303);
    const code = codeOf(allowed.location);
    // The other client still asks: a consent names its client.
    expect((await browser.get(authorizePath(anotherThirdParty.clientId, challenge))).text).toMatch(/name="decision" value="allow"/);
    // Remembered for this client and scope set: no page the second time (SSO).
    setNow(T0 + 40);
    const again = await browser.get(authorizePath(thirdParty.clientId, challenge));
    expect(again.status).toBe(303);
    // A wider scope set asks again.
    expect((await browser.get(authorizePath(thirdParty.clientId, challenge, { scope: 'openid profile offline_access' }))).status).toBe(200);
    // Without offline_access granted a third-party client gets no refresh token.
    const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, basic(thirdParty));
    expect(tokens.status).toBe(200);
    expect(tokens.json.refresh_token).toBeUndefined();
    const events = await env.DB.prepare("SELECT type FROM security_events WHERE user_id = ? AND type LIKE 'oidc_%'").bind(user.id).all();
    expect(events.results.map((row) => row.type)).toEqual(['oidc_consent_granted', 'oidc_code_exchanged']);
  });

  it('a third-party client gets a refresh token only when the person allowed offline_access', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('offline'));
    const browser = new Browser(workerEnv);
    const consent = await signIn(browser, user, authorizePath(thirdParty.clientId, challenge, { scope: 'openid offline_access' }), T0 + 30);
    expect(consent.text).toContain('Stay signed in');
    const allowed = await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' });
    const tokens = await exchangeCode(workerEnv, thirdParty, verifier, allowed.location);
    expect(tokens.json.scope).toBe('openid offline_access');
    expect(typeof tokens.json.refresh_token).toBe('string');
    // The remembered grant counts: no page, and a refresh token again (prompt=consent is not needed).
    setNow(T0 + 40);
    const again = await browser.get(authorizePath(thirdParty.clientId, challenge, { scope: 'openid offline_access' }));
    expect(again.status).toBe(303);
    const second = await exchangeCode(workerEnv, thirdParty, verifier, again.location);
    expect(typeof second.json.refresh_token).toBe('string');
  });

  it('deny goes back with access_denied, state and iss', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('deny'));
    const browser = new Browser(workerEnv);
    const consent = await signIn(browser, user, authorizePath(thirdParty.clientId, challenge), T0 + 30);
    const denied = await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'deny' });
    expect(Object.fromEntries(new URL(denied.location!).searchParams)).toEqual({ error: 'access_denied', error_description: 'The person declined.', state: 'st-1', iss: ISSUER });
    expect(await codeCount(user.id)).toBe(0);
  });
});

describe('the provider session', () => {
  it('signs a second client in without a page (SSO), with the same sid; it is listed by GET /sessions and its end ends the clients’ tokens', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('sso'));
    const browser = new Browser(workerEnv);
    const first = await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    const cookie = first.headers.getSetCookie().find((line) => line.startsWith('__Host-edge-mfa-op='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    const secondClient = await registerClient(workerEnv, { firstParty: true, name: 'Second', redirectUris: ['https://two.example/cb'] });
    setNow(T0 + 35);
    const sso = await browser.get(authorizePath(secondClient.clientId, challenge, { redirect_uri: 'https://two.example/cb' }));
    expect(sso.status).toBe(303);
    const a = await exchangeCode(workerEnv, firstParty, verifier, first.location);
    const b = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(sso.location), redirect_uri: 'https://two.example/cb', code_verifier: verifier }, basic(secondClient));
    const sidA = decodeJwtPayload(a.json.id_token as string).sid;
    expect(sidA).toBe(decodeJwtPayload(b.json.id_token as string).sid);
    // Listed like any session, and ended like any session.
    const listed = await send(workerEnv, '/sessions', { headers: { Authorization: `Bearer ${user.fullToken}` } });
    const ids = (listed.json.sessions as { id: string }[]).map((s) => s.id);
    expect(ids).toContain(sidA);
    const ended = await send(workerEnv, `/sessions/${sidA}`, { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}` } });
    expect(ended.status).toBe(204);
    for (const tokens of [a, b]) {
      expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } })).status).toBe(401);
      const refreshed = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string }, basic(tokens === a ? firstParty : secondClient));
      expect(refreshed.json.error).toBe('invalid_grant');
    }
    // The browser must sign in again.
    expect((await browser.get(authorizePath(firstParty.clientId, challenge))).status).toBe(200);
  });

  it('prompt=login asks for both factors again even with a live session', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('again'));
    const browser = new Browser(workerEnv);
    await signIn(browser, user, authorizePath(firstParty.clientId, challenge), T0 + 30);
    setNow(T0 + 40);
    const forced = await browser.get(authorizePath(firstParty.clientId, challenge, { prompt: 'login' }));
    expect(forced.status).toBe(200);
    expect(forced.text).toContain('autocomplete="current-password"');
    // Its ticket does not accept the old session at the next steps either.
    const skipped = await browser.post('/authorize/continue', stepFields(forced.text));
    expect(skipped.text).toContain('autocomplete="current-password"');
  });
});

describe('enrollment and sign-up inside the flow', () => {
  it('a new person signs up, enrolls TOTP (QR, key, otpauth link), sees the recovery codes once, then gets a code', async () => {
    const browser = new Browser(workerEnv);
    setNow(T0 + 300);
    const start = await browser.get(authorizePath(firstParty.clientId, challenge));
    const signupLink = /href="(\/authorize\/signup\?ticket=[^"]+)"/.exec(start.text)![1]!.replace(/&amp;/g, '&');
    const form = await browser.get(signupLink);
    expect(form.text).toContain('autocomplete="new-password"');
    const weak = await browser.post('/authorize/signup', { ...stepFields(form.text), username: uniqueName('new'), password: 'short' });
    expect(weak.text).toMatch(/role="alert"/);
    const username = uniqueName('new');
    const enroll = await browser.post('/authorize/signup', { ...stepFields(form.text), username, password: PASSWORD });
    expect(enroll.status).toBe(200);
    const uri = /href="(otpauth:\/\/totp\/[^"]+)"/.exec(enroll.text)![1]!.replace(/&amp;/g, '&');
    expect(enroll.text).toMatch(/<img src="data:image\/svg\+xml;base64,/);
    const secret = new URL(uri).searchParams.get('secret')!;
    expect(enroll.text).toContain(secret);
    const wrong = await browser.post('/authorize/enroll', { ...stepFields(enroll.text), code: '000000' });
    expect(wrong.text).toMatch(/role="alert"/);
    expect(wrong.text).toContain(secret);
    const codes = await browser.post('/authorize/enroll', { ...stepFields(enroll.text), code: await totpAt(secret, T0 + 300) });
    expect(codes.status).toBe(200);
    expect(codes.text.match(/<li><code>/g)).toHaveLength(10);
    expect(codes.text.match(/<form /g)).toHaveLength(1);
    const done = await browser.post('/authorize/continue', stepFields(codes.text));
    expect(done.status).toBe(303);
    expect(new URL(done.location!).searchParams.get('code')).toBeTruthy();
  });

  it('OIDC_SIGNUP=false hides and refuses sign-up', async () => {
    const closed = opEnv({ OIDC_SIGNUP: 'false' });
    const browser = new Browser(closed);
    const start = await browser.get(authorizePath(firstParty.clientId, challenge));
    expect(start.text).not.toContain('/authorize/signup');
    expect((await browser.post('/authorize/signup', { ...stepFields(start.text), username: uniqueName('x'), password: PASSWORD })).status).toBe(400);
  });
});
