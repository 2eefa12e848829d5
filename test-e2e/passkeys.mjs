#!/usr/bin/env node
// `npm run test:e2e` (after enrollment.mjs): passkeys on the page in a real headless
// Chromium, with the DevTools Protocol's virtual authenticators (WebAuthn.enable,
// WebAuthn.addVirtualAuthenticator: ctap2, internal transport, resident keys, user
// verification) through playwright-core's CDP session. The page is opened at
// http://localhost:PORT (WebAuthn refuses IP addresses) and wrangler dev is given
// WEBAUTHN_RP_ID=localhost and WEBAUTHN_ORIGINS=http://localhost:PORT, as `npm run dev` does.
//
// Journey: Bob enrolls with a passkey instead of an app (a first enrollment);
// Alice enrolls TOTP, adds a passkey in the account view, logs out, logs in with her
// password and the passkey; an authenticator holding only Bob's credential is refused
// for Alice (in the browser, and by the server when its assertion is sent anyway);
// Alice removes her passkey. Exits non-zero on any failure.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { check, jsonApi, outDir, runE2e, totp, virtualAuthenticators, watchPage } from './lib.mjs';

async function runJourney(context, origin, api) {
  const page = context.pages()[0] ?? (await context.newPage());
  // The last step opens the same server at 127.0.0.1 on purpose (the IP-address warning).
  const problems = watchPage(page, [origin, api]);
  let shot = 0;
  const screenshot = async (name) => {
    shot += 1;
    await page.screenshot({ path: join(outDir, `passkeys-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const { cdp, add } = await virtualAuthenticators(context, page);
  const authenticators = new Set();
  const addAuthenticator = async () => {
    const authenticatorId = await add();
    authenticators.add(authenticatorId);
    return authenticatorId;
  };
  const removeAuthenticator = async (authenticatorId) => {
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    authenticators.delete(authenticatorId);
  };
  // On the account step the username field's passkey autofill (a conditional request)
  // waits, and a virtual authenticator that presents itself answers it at once: its
  // passkey's owner would be signed in while the test types a password. From logging out
  // to the end of the password step, the authenticators stay silent (the password step
  // ends that request); a person would simply not pick the suggestion.
  const presence = async (enabled) => {
    for (const authenticatorId of authenticators) await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  };
  const password = 'correct horse battery staple';
  const bob = `bob_${randomBytes(4).toString('hex')}`;
  const alice = `alice_${randomBytes(4).toString('hex')}`;

  // Creating an account continues into its sign-in (issue 23): no second "Log in".
  const registerAndLogIn = async (username) => {
    await page.fill('#register-username', username);
    await page.fill('#register-password', password);
    await page.press('#register-password', 'Enter');
    await page.locator('#step-enroll').waitFor({ state: 'visible' });
    await presence(true);
  };
  const logOut = async () => {
    await presence(false);
    await page.click('#logout');
    await page.locator('#login-form .form-status').filter({ hasText: 'You are logged out.' }).waitFor();
  };
  const focused = () => page.evaluate(() => ({ id: document.activeElement?.id ?? '', className: document.activeElement?.className ?? '', form: document.activeElement?.closest('form')?.id ?? '' }));
  /** Replaces the next answer of `path` with RFC 9470's step-up 401, as if the second factor were older than 300 s. */
  const askStepUpOnce = async (path) => {
    let asked = false;
    await page.route(`${origin}${path}`, async (route) => {
      if (asked) return route.continue();
      asked = true;
      await route.fulfill({
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", max_age=300', 'Content-Type': 'application/json' },
        body: JSON.stringify({ error: 'insufficient_user_authentication', message: 'Prove your second factor again.' }),
      });
    });
  };
  const logIn = async (username) => {
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.press('#password', 'Enter');
    await page.locator('#step-code').waitFor({ state: 'visible' });
    await presence(true);
  };

  console.log('the page at a localhost origin');
  const response = await page.goto(`${origin}/`);
  check('GET / answers 200 with a strict CSP', response.status() === 200 && /default-src 'none'/.test(response.headers()['content-security-policy'] ?? ''));
  check('WebAuthn is available (secure context, PublicKeyCredential)', await page.evaluate(() => window.isSecureContext && typeof PublicKeyCredential === 'function'));

  console.log('Bob: a passkey instead of an app (first enrollment)');
  const bobAuthenticator = await addAuthenticator();
  await registerAndLogIn(bob);
  await page.locator('#step-enroll').waitFor({ state: 'visible' });
  check('the enrollment step offers "Add a passkey"', await page.locator('#enroll-passkey-form button').isVisible());
  await page.click('#enroll-passkey-form button');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  check('ten recovery codes are shown after a passkey enrollment', (await page.locator('#recovery-list li').count()) === 10);
  check('the account view lists the passkey', (await page.locator('#passkey-list li').allInnerTexts()).some((t) => t.startsWith('Passkey')));
  check('/me shows the passkey as the second factor', /Second factors\s+passkey/.test(await page.locator('#me').innerText()));
  await screenshot('bob-enrolled');

  console.log('Bob, passkey only: the step-up prompt offers the passkey, and no recovery code is spent');
  // The account view's own first GET /sessions must be done before the step-up answer is
  // staged, or that load, not the click below, gets it (and the dialog then blocks the click).
  await page.locator('#sessions-list li').first().waitFor();
  await askStepUpOnce('/sessions');
  const reauthenticated = page.waitForResponse((r) => r.url() === `${origin}/reauthenticate`);
  await page.click('#sessions-reload');
  await page.locator('#step-up').waitFor({ state: 'visible' });
  check('the dialog offers "Use a passkey", focused, and no code field (Bob has no app)', (await page.locator('#step-up-passkey').isVisible()) && (await focused()).id === 'step-up-passkey' && (await page.locator('#step-up-code').isHidden()));
  check('the dialog says to use the passkey', (await page.locator('#step-up-intro').innerText()).includes('Use your passkey.'));
  await screenshot('bob-step-up');
  await page.keyboard.press('Enter');
  const reauth = await reauthenticated;
  check('/reauthenticate accepted the passkey (webauthn proof, 200)', reauth.status() === 200 && reauth.request().postDataJSON()?.webauthn?.challengeId !== undefined);
  await page.locator('#step-up').waitFor({ state: 'hidden' });
  await page.locator('#account-sessions .form-status').filter({ hasText: 'The list of sessions is up to date.' }).waitFor();
  await page.unroute(`${origin}/sessions`);
  check('the action is retried and its confirmation shows beside it', (await page.locator('#account-sessions .form-error').isHidden()));
  check('no recovery code was spent', /Recovery codes left\s+10/.test(await page.locator('#me').innerText()));
  await logOut();
  const { credentials: bobCredentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: bobAuthenticator });
  check('the virtual authenticator holds Bob’s resident credential for rp localhost', bobCredentials.length === 1 && bobCredentials[0].rpId === 'localhost' && bobCredentials[0].isResidentCredential);
  await removeAuthenticator(bobAuthenticator);

  console.log('Alice: TOTP, then a passkey in the account view');
  const aliceAuthenticator = await addAuthenticator();
  await registerAndLogIn(alice);
  await page.locator('#step-enroll').waitFor({ state: 'visible' });
  const secret = (await page.locator('#secret').innerText()).replace(/\s/g, '');
  await page.fill('#code', totp(secret, Date.now() / 1000));
  await page.press('#code', 'Enter');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  const aliceRecoveryCodes = await page.locator('#recovery-list li').allInnerTexts();
  check('no passkey yet', (await page.locator('#passkey-list').innerText()).includes('None yet.'));
  check('the facts say: authenticator app only', /Second factors\s+authenticator app\n/.test((await page.locator('#me').innerText()) + '\n'));
  check('no "also sign out everywhere else" choice while there is no passkey to remove', await page.locator('#passkey-end-sessions-line').isHidden());
  await page.fill('#passkey-name', 'Laptop');
  await page.click('#add-passkey-form button[type=submit]');
  await page.locator('#add-passkey-form .form-status').filter({ hasText: 'Passkey “Laptop” added.' }).waitFor();
  check('the confirmation is beside the add form and has focus (not <body>)', (await focused()).className === 'form-status' && (await focused()).form === 'add-passkey-form');
  check('the new passkey is listed with its name', (await page.locator('#passkey-list li').allInnerTexts()).some((t) => t.startsWith('Laptop')));
  const factsAfterAdd = await page.locator('#me').filter({ hasText: /Second factors\s*authenticator app, passkey/ }).waitFor({ timeout: 5000 }).then(() => true, () => false);
  check('"Second factors" is refreshed at once: authenticator app, passkey', factsAfterAdd, await page.locator('#me').innerText());
  // The checkbox and its words on one line, the words in the list's type (it once sat alone, its label below it in bold).
  const [box, words] = await Promise.all([page.locator('#passkey-end-sessions').boundingBox(), page.locator('label[for=passkey-end-sessions]').boundingBox()]);
  const besideIt = box !== null && words !== null && words.x > box.x + box.width && Math.abs(words.y + words.height / 2 - (box.y + box.height / 2)) < box.height;
  check('with a passkey listed, "also sign out everywhere else" shows, its checkbox beside its words', (await page.locator('#passkey-end-sessions-line').isVisible()) && besideIt, JSON.stringify({ box, words }));
  await screenshot('alice-added');

  console.log('log out, log in with the password and the passkey');
  await logOut();
  await logIn(alice);
  check('the second step offers "Use a passkey" beside the code', (await page.locator('#passkey-form button').isVisible()) && (await page.locator('#code').isVisible()));
  await screenshot('second-step');
  await page.click('#passkey-form button');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  check('signed in with the passkey', /Second factors\s+authenticator app, passkey/.test(await page.locator('#me').innerText()));
  await logOut();

  console.log('an authenticator with only another account’s credential is refused');
  await removeAuthenticator(aliceAuthenticator);
  // Bob's credential is added once Alice's password step has ended the autofill's request.
  await logIn(alice);
  const strangerAuthenticator = await addAuthenticator();
  await cdp.send('WebAuthn.addCredential', { authenticatorId: strangerAuthenticator, credential: bobCredentials[0] });
  await page.click('#passkey-form button');
  await page.locator('#passkey-form .form-error').filter({ hasText: 'No passkey was used' }).waitFor();
  check('the browser finds no passkey of Alice’s: the page says so beside the button and stays at the second step', await page.locator('#step-code').isVisible());
  check('focus moves to that message', (await focused()).className === 'form-error' && (await focused()).form === 'passkey-form');
  await screenshot('stranger-refused');
  // Sent anyway: Bob's assertion against Alice's challenge, straight to the API.
  const login = await jsonApi(api, '/login', { json: { username: alice, password } });
  const options = await jsonApi(api, '/webauthn/login/options', { token: login.body.token, json: {} });
  const stolen = await page.evaluate(async (publicKey) => {
    const request = PublicKeyCredential.parseRequestOptionsFromJSON({ ...publicKey, allowCredentials: [] });
    const credential = await navigator.credentials.get({ publicKey: request });
    return credential.toJSON();
  }, options.body.publicKey);
  check('the browser signed with Bob’s discoverable credential', stolen.id !== undefined && stolen.response.userHandle !== undefined);
  const refused = await jsonApi(api, '/webauthn/login/verify', { token: login.body.token, json: { challengeId: options.body.challengeId, response: stolen } });
  check('the server refuses another account’s credential (401)', refused.status === 401, JSON.stringify(refused.body));
  await removeAuthenticator(strangerAuthenticator);

  console.log('remove the passkey');
  await page.fill('#code', totp(secret, Date.now() / 1000 + 30));
  await page.press('#code', 'Enter');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  // Another device of Alice's (signed in with a recovery code): ASVS 5.0 V7.4.3, removing a
  // passkey offers ending the other sessions; the page's checkbox sends ?endSessions=true.
  const otherLogin = await jsonApi(api, '/login', { json: { username: alice, password } });
  const other = await jsonApi(api, '/otp-verify', { token: otherLogin.body.token, json: { recoveryCode: aliceRecoveryCodes[0] } });
  check('another session of Alice’s is open', other.status === 200 && (await jsonApi(api, '/me', { token: other.body.token })).status === 200, JSON.stringify(other.body));
  await page.check('#passkey-end-sessions');
  await page.click('#passkey-list button');
  await page.locator('#add-passkey-form .form-status').filter({ hasText: 'Passkey “Laptop” removed. Every other session is signed out.' }).waitFor();
  check('with the box ticked, the other session ended with the passkey', (await jsonApi(api, '/me', { token: other.body.token })).status === 401);
  check('the list is empty again, and the choice that went with removing is gone', (await page.locator('#passkey-list').innerText()).includes('None yet.') && (await page.locator('#passkey-end-sessions-line').isHidden()));
  const factsAfterRemove = await page.locator('#me').filter({ hasText: /Second factors\s*authenticator app(?!,)/ }).waitFor({ timeout: 5000 }).then(() => true, () => false);
  check('"Second factors" is refreshed after the removal', factsAfterRemove, await page.locator('#me').innerText());

  console.log('at 127.0.0.1 the page says passkeys need localhost');
  await page.goto(`${api}/`);
  const warning = page.locator('#host-warning');
  check('a warning names the IP address and links to the localhost address', (await warning.isVisible()) && (await warning.innerText()).includes('127.0.0.1') && (await warning.locator('a').getAttribute('href')) === `${origin}/`);
  await screenshot('ip-warning');
  await screenshot('removed');

  check('no page errors, CSP violations or requests to other origins', problems.length === 0, problems.join('; '));
}

await runE2e('passkeys', { contextOptions: { viewport: { width: 900, height: 1200 } } }, ({ context, server }) => runJourney(context, server.origin, server.api));
