#!/usr/bin/env node
// `npm run test:e2e`: the enrollment page in a real headless Chromium against
// `wrangler dev` on loopback. Starts wrangler itself (fresh D1 and secrets in a
// temporary folder, free ports), registers, logs in, reads the secret from the
// page, computes the TOTP code here, submits it, and checks the recovery codes
// and the /me data; then the error paths a person meets (wrong password, wrong
// code, expired token, lock with its wait), and the account view: the sessions
// list, a second session ended from the page, "Sign out everywhere else", and
// the access token refreshed before it expires (wrangler dev runs with
// ACCESS_TOKEN_TTL_SECONDS=60, the shortest allowed, so the page refreshes at
// 48 s instead of 240 s). A screenshot of each step goes to
// e2e-output/ (gitignored); with --update-docs two of them also go to
// docs/screenshots/ for the README. Exits non-zero on any failure.
//
// Needs Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, outDir, root, runE2e, totp, watchPage } from './lib.mjs';

const docsDir = join(root, 'docs/screenshots');
const updateDocs = process.argv.includes('--update-docs');
/** The shortest access-token life the API allows; the page renews at 80% of it. */
const ACCESS_TOKEN_TTL_SECONDS = 60;

/** A well-formed code that is none of the codes accepted now (one step either side). */
function wrongCode(secret) {
  const now = Date.now() / 1000;
  const accepted = new Set([-30, 0, 30].map((d) => totp(secret, now + d)).concat([-60, 60].map((d) => totp(secret, now + d))));
  for (let n = 0; ; n++) {
    const candidate = String((123456 + n * 7919) % 1_000_000).padStart(6, '0');
    if (!accepted.has(candidate)) return candidate;
  }
}

/** Another device signs in through the API: the password, then `proof` ({ code } or { recoveryCode }). */
async function signInElsewhere(base, username, password, proof) {
  const json = { 'Content-Type': 'application/json' };
  const login = await fetch(`${base}/login`, { method: 'POST', headers: json, body: JSON.stringify({ username, password }) });
  const { token } = await login.json();
  const verify = await fetch(`${base}/otp-verify`, { method: 'POST', headers: { ...json, Authorization: `Bearer ${token}` }, body: JSON.stringify(proof) });
  const body = await verify.json();
  return { status: verify.status, token: body.token, refreshToken: body.refreshToken };
}

async function runJourney(context, base) {
  const page = context.pages()[0] ?? (await context.newPage());
  // Only this origin may be contacted: no CDN, no external asset.
  const problems = watchPage(page, [base]);
  let shot = 0;
  const screenshot = async (name, docName) => {
    shot += 1;
    const file = join(outDir, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (updateDocs && docName) {
      mkdirSync(docsDir, { recursive: true });
      copyFileSync(file, join(docsDir, docName));
    }
  };
  const text = (selector) => page.locator(selector).innerText();
  const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
  /** The focused element's class and form, and whether it (or the message it is described by) is on screen. */
  const focused = () => page.evaluate(() => ({ className: document.activeElement?.className ?? '', form: document.activeElement?.closest('form, section')?.id ?? '' }));
  const inView = (selector) =>
    page.locator(selector).evaluate((element) => {
      const box = element.getBoundingClientRect();
      return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
    });
  /** The field is focused, marked invalid, and described by the form's own alert, which is on screen. */
  const errorOnField = async (fieldId, formId) => {
    const described = (await page.getAttribute(`#${fieldId}`, 'aria-describedby')) ?? '';
    const alertId = await page.locator(`#${formId} .form-error`).getAttribute('id');
    return (await focusedId()) === fieldId && (await page.getAttribute(`#${fieldId}`, 'aria-invalid')) === 'true' && Boolean(alertId) && described.split(' ').includes(alertId) && (await inView(`#${formId} .form-error`));
  };

  const username = `e2e_${randomBytes(4).toString('hex')}`;
  let password = 'correct horse battery staple';

  // The page's clock (Date and its timers) is Playwright's: it runs in real time
  // until the renewal check below moves it forward instead of waiting 48 s.
  await page.clock.install();
  console.log('the page');
  const response = await page.goto(`${base}/`);
  check('GET / answers 200 with no-store and a CSP', response.status() === 200 && response.headers()['cache-control'] === 'no-store' && /script-src 'nonce-/.test(response.headers()['content-security-policy'] ?? ''));
  await screenshot('start');

  console.log('wrong password (keyboard only)');
  await page.keyboard.press('Tab');
  check('the first Tab reaches the username field', (await focusedId()) === 'username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter'); // the login form's only button
  await page.locator('#login-form .form-error').filter({ hasText: 'Wrong username or password.' }).waitFor();
  check('an unknown account gets "Wrong username or password." beside the login form', true);
  check('the password field is marked invalid, focused and described by that alert', await errorOnField('password', 'login-form'));
  await screenshot('wrong-password');

  console.log('create an account (keyboard only): Enter in that form creates it and signs in');
  await page.focus('#register-username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  check('Tab goes from the new username to the new password', (await focusedId()) === 'register-password');
  check('the password hint names the common-password rule', (await text('#register-password-hint')).includes('commonly used password'));
  await page.keyboard.type('password123');
  await page.keyboard.press('Enter');
  await page.locator('#register-form .form-error').filter({ hasText: 'commonly used password' }).waitFor();
  check('"password123" is refused with the server’s reason (a commonly used password), beside the form', true);
  check('the new-password field is focused, invalid and described by it', await errorOnField('register-password', 'register-form'));
  check('the login form’s old alert is gone', await page.locator('#login-form .form-error').isHidden());
  await page.fill('#register-password', '');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.locator('#step-enroll').waitFor({ state: 'visible' });
  check('creating the account went on to sign in and to the authenticator setup', (await focusedId()) === 'h-enroll' && (await page.locator('#step-account').isHidden()));
  const secret = (await text('#secret')).replace(/\s/g, '');
  check('the secret for manual entry is shown', /^[A-Z2-7]{32}$/.test(secret), secret.length ? 'bad shape' : 'empty');
  const qrLoaded = await page.locator('#qr').evaluate((img) => img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/svg+xml;base64,'));
  check('the QR code image is shown', qrLoaded);
  check('the code field is visible with autocomplete=one-time-code and inputmode=numeric', (await page.locator('#code').isVisible()) && (await page.getAttribute('#code', 'autocomplete')) === 'one-time-code' && (await page.getAttribute('#code', 'inputmode')) === 'numeric');
  await screenshot('enroll', 'enroll.png');

  console.log('on the phone itself: the otpauth link and the copy button');
  const otpauth = await page.getAttribute('#otpauth-link', 'href');
  check('a tappable otpauth:// link carries the key', (await page.locator('#otpauth-link').isVisible()) && /^otpauth:\/\/totp\//.test(otpauth ?? '') && (otpauth ?? '').includes(`secret=${secret}`), otpauth ?? '');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.click('#copy-secret');
  await page.locator('#copy-secret-status').filter({ hasText: 'Copied the key.' }).waitFor();
  check('"Copy the key" puts the key, without spaces, on the clipboard and says "Copied"', (await page.evaluate(() => navigator.clipboard.readText())) === secret);

  console.log('wrong code on a 375 px phone, then the right one');
  await page.setViewportSize({ width: 375, height: 667 });
  await page.focus('#code');
  await page.keyboard.type(wrongCode(secret));
  await page.keyboard.press('Enter');
  await page.locator('#code-form .form-error').filter({ hasText: 'That code is wrong' }).waitFor();
  check('a wrong code gets a clear message beside the code form, on screen at 375 px', await errorOnField('code', 'code-form'));
  await screenshot('wrong-code');
  await page.setViewportSize({ width: 900, height: 1000 });
  const signInAt = Date.now();
  // The page's clock before the token arrives: its renewal timer starts after this.
  const pageSignInAt = await page.evaluate(() => Date.now());
  // The page's first renewal, expected at 80% of the access token's life; caught from here on.
  const firstRefresh = page.waitForResponse((r) => r.url() === `${base}/refresh` && r.request().method() === 'POST', { timeout: (ACCESS_TOKEN_TTL_SECONDS + 15) * 1000 });
  firstRefresh.catch(() => {}); // Checked below; a failure before then must not surface as an unhandled rejection.
  let refreshSent = false;
  page.on('request', (request) => {
    if (request.url() === `${base}/refresh`) refreshSent = true;
  });
  const signInStep = Math.floor(signInAt / 1000 / 30);
  await page.fill('#code', totp(secret, signInAt / 1000));
  await page.keyboard.press('Enter');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  const codes = await page.locator('#recovery-list li').allInnerTexts();
  check('ten recovery codes are shown', codes.length === 10 && codes.every((c) => /^[A-Z2-7]{5}-[A-Z2-7]{5}$/.test(c)), codes.join(' '));
  const me = await text('#me');
  check('the /me data is shown', me.includes(username) && /Two-step sign-in\s+On/.test(me) && /Recovery codes left\s+10/.test(me), me);
  await page.click('#copy-recovery');
  await page.locator('#copy-recovery-status').filter({ hasText: 'Copied the recovery codes.' }).waitFor();
  check('"Copy the codes" copies all ten, one a line', (await page.evaluate(() => navigator.clipboard.readText())) === codes.join('\n'));
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
  check('no token in localStorage, sessionStorage or cookies', stored.local === 0 && stored.session === 0 && stored.cookie === '' && (await context.cookies()).length === 0);
  await screenshot('done', 'done.png');

  console.log('your sessions: this one, another ended from the page, sign out everywhere else');
  const sessionItems = page.locator('#sessions-list > li');
  await sessionItems.first().waitFor();
  check('the sessions list shows this session, marked as this device, with no End button', (await sessionItems.count()) === 1 && (await sessionItems.first().innerText()).includes('This device') && (await page.locator('#sessions-list .end-session').count()) === 0);
  const sessionTitle = await sessionItems.first().locator('.session-title').innerText();
  const rawAgent = await page.evaluate(() => navigator.userAgent);
  check('the session is named by browser and system ("Chrome on Linux"), not by its raw User-Agent', sessionTitle.startsWith('Chrome on Linux') && !sessionTitle.includes('Mozilla'), sessionTitle);
  await sessionItems.first().locator('.raw-agent summary').click();
  check('the raw User-Agent is there on demand (details/summary)', (await sessionItems.first().locator('.raw-agent code').innerText()) === rawAgent);
  // Another device signs in with the code of the next time step: the page's step is spent (API.md "Replay").
  const second = await signInElsewhere(base, username, password, { code: totp(secret, (signInStep + 1) * 30) });
  check('a second session opens through the API', second.status === 200 && typeof second.refreshToken === 'string');
  await page.click('#sessions-reload');
  await page.locator('#sessions-list > li').nth(1).waitFor();
  const endButtons = page.locator('#sessions-list .end-session');
  check('the list shows both sessions, with an End button on the other one only', (await sessionItems.count()) === 2 && (await endButtons.count()) === 1 && /^End the session of /.test((await endButtons.first().getAttribute('aria-label')) ?? ''));
  await screenshot('sessions');
  check('the other session (node’s fetch) is named too', (await sessionItems.nth(1).locator('.session-title').innerText()).length > 0);
  await endButtons.first().focus();
  await page.keyboard.press('Enter');
  await page.locator('#account-sessions .form-status').filter({ hasText: 'That session is ended' }).waitFor();
  check('ending it from the page leaves only this session', (await sessionItems.count()) === 1 && (await sessionItems.first().innerText()).includes('This device'));
  check('the confirmation is beside the list and has focus (the End button is gone)', JSON.stringify(await focused()) === JSON.stringify({ className: 'form-status', form: 'account-sessions' }) && (await inView('#account-sessions .form-status')));
  const ended = await fetch(`${base}/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: second.refreshToken }) });
  check('the ended session can no longer refresh', ended.status === 401);
  const third = await signInElsewhere(base, username, password, { recoveryCode: codes[1] });
  check('a third session opens through the API (with a recovery code)', third.status === 200);
  await page.click('#sessions-reload');
  await page.locator('#sessions-list > li').nth(1).waitFor();
  await page.click('#logout-others');
  await page.locator('#account-sessions .form-status').filter({ hasText: 'You are signed out everywhere else.' }).waitFor();
  check('"Sign out everywhere else" leaves only this session', (await sessionItems.count()) === 1 && (await page.locator('#logout-others').isHidden()));
  const othersGone = await fetch(`${base}/me`, { headers: { Authorization: `Bearer ${third.token}` } });
  check('the other session’s token is dead at once', othersGone.status === 401);

  console.log('the access token is renewed before it expires');
  // The page's clock is moved, not waited for: to 75% of the token's life (no
  // renewal yet, unless the steps above already took that long in real time),
  // then to 92% (the renewal, due at 80%, has been sent).
  const pageElapsedMs = async () => (await page.evaluate(() => Date.now())) - pageSignInAt;
  const notYetMs = ACCESS_TOKEN_TTL_SECONDS * 750;
  if ((await pageElapsedMs()) < notYetMs) {
    await page.clock.fastForward(notYetMs - (await pageElapsedMs()));
    check('no renewal before 75% of the access token’s life', !refreshSent);
  }
  await page.clock.fastForward(Math.max(0, ACCESS_TOKEN_TTL_SECONDS * 920 - (await pageElapsedMs())));
  const refresh = await firstRefresh;
  const renewed = await refresh.json();
  check('the page called /refresh before its access token expired and got a new pair', refresh.status() === 200 && (await pageElapsedMs()) < ACCESS_TOKEN_TTL_SECONDS * 1000 && typeof renewed.refreshToken === 'string', `status ${refresh.status()}`);
  check('the refresh request carried the refresh token in its body only, not in the URL', !refresh.url().includes('?') && refresh.request().postDataJSON()?.refreshToken !== undefined);
  const reloads = page.waitForResponse((r) => r.url() === `${base}/sessions` && r.request().method() === 'GET');
  await page.click('#sessions-reload');
  const reloaded = await reloads;
  await page.locator('#account-sessions .form-status').filter({ hasText: 'The list of sessions is up to date.' }).waitFor();
  check('calls after the refresh use the new access token', reloaded.status() === 200 && (await page.locator('#account-sessions .form-error').isHidden()) && (await reloaded.request().headerValue('authorization')) === `Bearer ${renewed.token}`);

  console.log('step-up: the prompt, /reauthenticate, the retried action');
  // A real insufficient_user_authentication needs a second factor older than 300 s; here the
  // next /sessions answer is replaced by one (RFC 9470's 401), and /reauthenticate is the real one.
  let stepUpAsked = false;
  await page.route(`${base}/sessions`, async (route) => {
    if (stepUpAsked) return route.continue();
    stepUpAsked = true;
    await route.fulfill({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", max_age=300', 'Content-Type': 'application/json' },
      body: JSON.stringify({ error: 'insufficient_user_authentication', message: 'Prove your second factor again.' }),
    });
  });
  await page.click('#sessions-reload');
  await page.locator('#step-up').waitFor({ state: 'visible' });
  check('the step-up dialog opens with the code field focused, and no passkey offered (this account has none)', (await focusedId()) === 'step-up-code' && (await page.locator('#step-up-passkey').isHidden()));
  await page.keyboard.type(wrongCode(secret));
  await page.keyboard.press('Enter');
  await page.locator('#step-up-error').filter({ hasText: 'That code is wrong' }).waitFor();
  check('a wrong code keeps the dialog open with the message', await page.locator('#step-up').isVisible());
  await screenshot('step-up');
  const reauthenticated = page.waitForResponse((r) => r.url() === `${base}/reauthenticate`);
  // The page's code and the second session's are spent: the step after those (API.md "Replay").
  // The server's clock is real (only the page's was moved): that step is inside
  // its window (one step either side) once the step after sign-in has begun.
  const nextStepInMs = (signInStep + 1) * 30_000 - Date.now();
  if (nextStepInMs > 0) await new Promise((resolve) => setTimeout(resolve, nextStepInMs + 100));
  await page.fill('#step-up-code', totp(secret, (signInStep + 2) * 30));
  await page.keyboard.press('Enter');
  const reauth = await reauthenticated;
  const reauthPair = await reauth.json();
  await page.locator('#account-sessions .form-status').filter({ hasText: 'The list of sessions is up to date.' }).waitFor();
  await page.unroute(`${base}/sessions`);
  check('a right code closes the dialog, replaces the pair and retries the action', reauth.status() === 200 && (await page.locator('#step-up').isHidden()) && (await page.locator('#account-sessions .form-error').isHidden()) && (await sessionItems.count()) === 1);
  const withNewPair = page.waitForResponse((r) => r.url() === `${base}/sessions`);
  await page.click('#sessions-reload');
  check('later calls carry the token from /reauthenticate', (await (await withNewPair).request().headerValue('authorization')) === `Bearer ${reauthPair.token}`);

  /** The next `method` request to `url` is answered with RFC 9470's step-up 401 (as if the factor were older than 300 s). */
  const stepUpOnce = async (url, method) => {
    let asked = false;
    await page.route(url, async (route) => {
      if (asked || route.request().method() !== method) return route.continue();
      asked = true;
      await route.fulfill({
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", max_age=300', 'Content-Type': 'application/json' },
        body: JSON.stringify({ error: 'insufficient_user_authentication', message: 'Prove your second factor again.' }),
      });
    });
  };

  console.log('change the password: the weak one refused with its reason, the confirmation beside the form');
  const newPassword = 'a different horse, battery staple';
  await page.fill('#current-password', password);
  await page.fill('#new-password', 'password123');
  await page.press('#new-password', 'Enter');
  await page.locator('#password-form .form-error').filter({ hasText: 'commonly used password' }).waitFor();
  check('"password123" is refused with the server’s reason beside the form, on the new-password field', await errorOnField('new-password', 'password-form'));
  await page.fill('#new-password', newPassword);
  await page.press('#new-password', 'Enter');
  await page.locator('#password-form .form-status').filter({ hasText: 'Your password is changed.' }).waitFor();
  check('"Your password is changed" is beside the form, on screen, and has focus (not <body>)', JSON.stringify(await focused()) === JSON.stringify({ className: 'form-status', form: 'password-form' }) && (await inView('#password-form .form-status')));
  password = newPassword;

  console.log('step-up with a recovery code: "Recovery codes left" follows');
  // codes[1] was spent by the third session above: the page still says 10 until it reads /me again.
  await stepUpOnce(`${base}/sessions`, 'GET');
  await page.click('#sessions-reload');
  await page.locator('#step-up').waitFor({ state: 'visible' });
  await page.click('#step-up-recovery summary');
  await page.fill('#step-up-recovery-code', codes[2]);
  await page.press('#step-up-recovery-code', 'Enter');
  await page.locator('#step-up').waitFor({ state: 'hidden' });
  const factsFollow = await page.locator('#me').filter({ hasText: /Recovery codes left\s*8/ }).waitFor({ timeout: 5000 }).then(() => true, () => false);
  check('after the step-up, "Recovery codes left" says 8', factsFollow, await text('#me'));
  await page.unroute(`${base}/sessions`);

  console.log('cancelling a step-up: "Not confirmed" beside the action');
  // The delete form, answered with the step-up 401 once; Escape cancels the prompt.
  await page.fill('#delete-password', password);
  await page.check('#delete-confirm');
  await stepUpOnce(`${base}/me`, 'DELETE');
  await page.press('#delete-password', 'Enter');
  await page.locator('#step-up').waitFor({ state: 'visible' });
  await page.keyboard.press('Escape');
  await page.locator('#delete-form .form-error').filter({ hasText: 'Not confirmed, so nothing was changed.' }).waitFor();
  check('"Not confirmed" shows beside the delete form, on screen, and the account is still there', (await inView('#delete-form .form-error')) && (await page.locator('#step-done').isVisible()));
  await page.unroute(`${base}/me`);
  await page.fill('#delete-password', '');
  await page.uncheck('#delete-confirm');

  const storedAfter = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, url: location.href }));
  check('still no token in storage, cookies or the URL', storedAfter.local === 0 && storedAfter.session === 0 && storedAfter.cookie === '' && storedAfter.url === `${base}/`);

  console.log('log out, log in again: an ended session');
  await page.click('#logout');
  await page.locator('#login-form .form-status').filter({ hasText: 'You are logged out.' }).waitFor();
  check('logout returns to the account form', await page.locator('#step-account').isVisible());
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.locator('#step-code').waitFor({ state: 'visible' });
  check('a second login asks for a code, not a new enrollment', (await page.locator('#step-enroll').isHidden()) && (await page.locator('#recovery-option').isVisible()));
  // Another device ends every session of this user; the page's token dies with them. Since v2 a
  // password-only token may end only its own session, so that device signs in fully (a recovery code).
  const { token } = await signInElsewhere(base, username, password, { recoveryCode: codes[0] });
  const revoked = await fetch(`${base}/logout`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ all: true }) });
  check('all sessions revoked from elsewhere', revoked.status === 204);
  await page.fill('#code', wrongCode(secret));
  await page.press('#code', 'Enter');
  await page.locator('#login-form .form-error').filter({ hasText: 'Your sign-in has expired or was ended. Please log in again.' }).waitFor();
  check('an ended token sends the person back to log in', await page.locator('#step-account').isVisible());
  await screenshot('expired');

  console.log('five wrong codes: the lock and its wait');
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.locator('#step-code').waitFor({ state: 'visible' });
  for (let i = 0; i < 5; i++) {
    await page.fill('#code', wrongCode(secret));
    await page.press('#code', 'Enter');
    await page.locator('#code-form .form-error').filter({ hasText: 'That code is wrong' }).waitFor();
    await page.locator('#code-form button[type=submit]:not([disabled])').waitFor();
  }
  await page.fill('#code', totp(secret, Date.now() / 1000));
  await page.press('#code', 'Enter');
  await page.locator('#code-form .form-error').filter({ hasText: /Too many attempts\. Please wait \d+ seconds? before trying again\./ }).waitFor();
  const button = page.locator('#code-form button[type=submit]');
  check('the lock shows the wait from Retry-After and disables Verify', (await button.isDisabled()) && /^Wait \d+ s$/.test(await button.innerText()));
  await screenshot('locked');

  check('no page errors, CSP violations or requests to other origins', problems.length === 0, problems.join('; '));
}

await runE2e(
  'enrollment',
  { vars: () => ({ ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) }), contextOptions: { deviceScaleFactor: 1 } },
  // The page is opened at localhost, as `npm run dev` says (at 127.0.0.1 it warns that passkeys need
  // a domain name; passkeys.mjs checks that); wrangler listens on 127.0.0.1, which localhost reaches.
  ({ context, server }) => runJourney(context, server.origin),
);
