#!/usr/bin/env node
// `npm run test:e2e` (after passkeys.mjs): passwordless sign-in on the page (issue 21) in a
// real headless Chromium with the DevTools Protocol's virtual authenticators, as
// passkeys.mjs sets them up (ctap2, internal transport, resident keys, user verification).
//
// Journey: Carol enrolls with a passkey; logged out, she signs in with "Sign in with a
// passkey" without typing a username; then with autofill (the username field's conditional
// request); then she types a password instead and the pending autofill request ends with
// no error shown. Dave's authenticator stops verifying him (isUserVerified: false): the
// browser offers nothing for a sign-in that requires UV, and an assertion without UV sent
// anyway is refused (401). Then the same on the OpenID Provider's sign-in page
// (passwordless-provider.mjs). Exits non-zero on any failure.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { check, jsonApi, outDir, runE2e, virtualAuthenticators, watchPage } from './lib.mjs';
import { providerJourney } from './passwordless-provider.mjs';

async function runJourney(context, origin, api) {
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watchPage(page, [origin]);
  const signinVerifies = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/webauthn/signin/verify')) signinVerifies.push(res.status());
  });
  let shot = 0;
  const screenshot = async (name) => {
    shot += 1;
    await page.screenshot({ path: join(outDir, `passwordless-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const { cdp, add: addAuthenticator } = await virtualAuthenticators(context, page);
  const password = 'correct horse battery staple';
  const carol = `carol_${randomBytes(4).toString('hex')}`;
  const dave = `dave_${randomBytes(4).toString('hex')}`;

  // Creating an account continues into its sign-in with the same credentials, then enrollment.
  const registerAndLogIn = async (username) => {
    await page.fill('#register-username', username);
    await page.fill('#register-password', password);
    await page.click('#register-button');
  };
  const enrollPasskey = async () => {
    await page.locator('#step-enroll').waitFor({ state: 'visible' });
    await page.click('#enroll-passkey-form button');
    await page.locator('#step-done').waitFor({ state: 'visible' });
  };
  const logOut = async () => {
    await page.click('#logout');
    await page.locator('#login-form .form-status').filter({ hasText: 'You are logged out.' }).waitFor();
  };
  const signedInAs = async (username) => (await page.locator('#me').innerText()).includes(username);

  // The virtual authenticator answers a conditional request by itself (automaticPresenceSimulation),
  // so where a step must prove the button alone, the page is told that autofill is unavailable.
  await context.addInitScript(() => {
    if (sessionStorage.getItem('e2e-no-autofill') === '1') PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  const autofill = async (on) => {
    await page.evaluate((value) => sessionStorage.setItem('e2e-no-autofill', value), on ? '0' : '1');
    await page.goto(`${origin}/`);
    // With autofill on, an authenticator holding a passkey may answer at once: the account
    // step can already be gone, signed in (the check after this waits for that).
    await page.waitForFunction(() => !document.getElementById('step-account').hidden || !document.getElementById('step-done').hidden);
  };

  console.log('the account step');
  const response = await page.goto(`${origin}/`);
  check('GET / answers 200', response.status() === 200);
  check('the username field asks for passkey autofill (autocomplete="username webauthn")', (await page.getAttribute('#username', 'autocomplete')) === 'username webauthn');
  check('"Sign in with a passkey" is offered beside the password form', await page.locator('#signin-passkey-form button').isVisible());

  console.log('Carol: a passkey with user verification, then "Sign in with a passkey" with no username');
  await autofill(false);
  const carolAuthenticator = await addAuthenticator();
  await registerAndLogIn(carol);
  await enrollPasskey();
  const listed = await page.locator('#passkey-list li').filter({ hasText: 'signs in without a password' }).waitFor().then(() => true, () => false);
  check('the account view says the passkey signs in without a password (passwordless: true)', listed);
  await logOut();
  await page.fill('#username', '');
  await page.click('#signin-passkey-form button');
  await page.locator('#step-done').waitFor({ state: 'visible' });
  check('signed in as Carol with no username or password typed', await signedInAs(carol));
  check('the server answered 200 to the passwordless sign-in', JSON.stringify(signinVerifies) === '[200]', JSON.stringify(signinVerifies));
  await screenshot('carol-button');
  await logOut();

  console.log('Carol again, with autofill (conditional mediation): nothing clicked');
  await autofill(true);
  await page.focus('#username');
  const autofilled = await page.locator('#step-done').waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false);
  check('the username field’s conditional request signed Carol in', autofilled && (await signedInAs(carol)) && JSON.stringify(signinVerifies) === '[200,200]', JSON.stringify(signinVerifies));
  await screenshot('carol-autofill');

  console.log('typing a password instead: the pending autofill request ends quietly');
  // Carol's authenticator gone: the conditional request stays pending until the password is submitted.
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: carolAuthenticator });
  await logOut();
  await autofill(true);
  await page.fill('#username', carol);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.locator('#step-code').waitFor({ state: 'visible' });
  check('the password step went on, with no error shown for the aborted request', (await page.locator('.form-error:visible').count()) === 0);
  check('the aborted request sent nothing to verify', signinVerifies.length === 2, JSON.stringify(signinVerifies));

  console.log('Dave: his authenticator stops verifying him (isUserVerified: false)');
  await autofill(false);
  const daveAuthenticator = await addAuthenticator();
  await registerAndLogIn(dave);
  await enrollPasskey();
  await logOut();
  // The same passkey, now unable to verify its user (a PIN not entered, a finger not recognised).
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId: daveAuthenticator, isUserVerified: false });
  const granted = signinVerifies.filter((status) => status === 200).length;
  await page.click('#signin-passkey-form button');
  // The browser cannot satisfy userVerification "required"; an assertion sent anyway is refused by the server (next).
  // The refusal is shown beside the passkey button, in that form's own alert.
  await page.locator('#signin-passkey-form .form-error').filter({ hasText: /No passkey was used|not accepted/ }).waitFor();
  check('the page stays at the account step and says why', await page.locator('#step-account').isVisible());
  check('no passwordless sign-in was granted', signinVerifies.filter((status) => status === 200).length === granted, JSON.stringify(signinVerifies));
  await screenshot('dave-refused');
  const options = await jsonApi(api, '/webauthn/signin/options', { json: {} });
  const unverified = await page.evaluate(async (publicKey) => {
    const request = PublicKeyCredential.parseRequestOptionsFromJSON({ ...publicKey, userVerification: 'discouraged' });
    return (await navigator.credentials.get({ publicKey: request })).toJSON();
  }, options.body.publicKey);
  check('the authenticator signed without verifying Dave (UV = 0)', (Buffer.from(unverified.response.authenticatorData, 'base64url')[32] & 0x04) === 0);
  const refused = await jsonApi(api, '/webauthn/signin/verify', { json: { challengeId: options.body.challengeId, response: unverified } });
  check('the server refuses a passwordless sign-in without UV: 401 invalid_credentials', refused.status === 401 && refused.body?.error === 'invalid_credentials', JSON.stringify(refused.body));
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: daveAuthenticator });

  check('no page errors, CSP violations or requests to other origins', problems.length === 0, problems.join('; '));
}

await runE2e('passwordless', { admin: true, vars: (origin) => ({ ISSUER_URL: origin }), contextOptions: { viewport: { width: 900, height: 1200 } } }, async ({ context, server }) => {
  await runJourney(context, server.origin, server.api);
  await providerJourney(context, server);
});
