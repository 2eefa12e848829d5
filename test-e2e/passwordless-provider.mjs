// Part of passwordless.mjs: passwordless sign-in on the OpenID Provider's sign-in page
// (issue 21: "the provider's sign-in page does the same"), in the same Chromium and
// wrangler dev (ISSUER_URL = the origin, an ADMIN_TOKEN for the client's registration).
//
// Journey: a first-party client is registered with a redirect URI on a local server of
// this script. Erin has a device-bound passkey made with user verification. On the
// provider's sign-in page she presses "Sign in with a passkey" with no username typed:
// the callback gets a code whose ID token says amr ["pop","mfa"] and acr phrh. In a fresh
// browser session the username field's autofill (conditional mediation) signs her in
// with nothing clicked. With no passkey on the device she types her password instead:
// the pending conditional request ends with nothing shown and nothing posted, and the
// second step follows. An authenticator that cannot verify her (isUserVerified: false)
// gets nothing from the browser for a sign-in that requires UV: no code.
import { createServer } from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import { check, freePort, jsonApi, virtualAuthenticators, watchPage } from './lib.mjs';

const TIMEOUT = 60_000;
const password = 'correct horse battery staple';

async function startCallbackServer() {
  const port = await freePort();
  const server = createServer((request, response) => response.writeHead(200, { 'Content-Type': 'text/plain' }).end('relying party reached'));
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');
const payloadOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

export async function providerJourney(context, server) {
  const rp = await startCallbackServer();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = watchPage(page, [server.origin, rp.base]);
  const posted = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().startsWith(server.origin)) posted.push(new URL(request.url()).pathname);
  });
  try {
    const { cdp, add: addAuthenticator } = await virtualAuthenticators(context, page);
    /** The page is told passkey autofill is unavailable (passwordless.mjs's init script reads this flag), where the button alone must act. */
    const setAutofill = (on) => page.evaluate((value) => sessionStorage.setItem('e2e-no-autofill', value), on ? '0' : '1');

    const created = await jsonApi(server.api, '/admin/clients', {
      token: server.adminToken,
      json: { name: 'Passwordless app', type: 'confidential', firstParty: true, redirectUris: [`${rp.base}/cb`] },
    });
    check('provider: the support API registers a first-party client', created.status === 201, JSON.stringify(created.body));
    const client = created.body;

    // Erin: registered through the JSON API; her passkey made by the browser on a JSON document of the origin (no username field there).
    const erin = `erin_${randomBytes(4).toString('hex')}`;
    await jsonApi(server.api, '/register', { json: { username: erin, password } });
    const login = await jsonApi(server.api, '/login', { json: { username: erin, password } });
    const options = await jsonApi(server.api, '/webauthn/register/options', { token: login.body.token, json: { name: 'Laptop' } });
    await page.goto(`${server.origin}/health`);
    let authenticatorId = await addAuthenticator();
    const registration = await page.evaluate(async (publicKey) => (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) })).toJSON(), options.body.publicKey);
    const verified = await jsonApi(server.api, '/webauthn/register/verify', { token: login.body.token, json: { challengeId: options.body.challengeId, response: registration } });
    check('provider: Erin’s passkey is registered with UV (passwordless)', verified.status === 201, JSON.stringify(verified.body));
    let [credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    const keep = async () => {
      [credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    };
    await keep();

    /** An authorization request (PKCE S256); resolves with the callback URL the browser reached. */
    const authorize = async () => {
      const verifier = b64url(randomBytes(32));
      const url = new URL(`${server.origin}/authorize`);
      for (const [key, value] of Object.entries({
        response_type: 'code', client_id: client.clientId, redirect_uri: `${rp.base}/cb`, scope: 'openid profile', state: b64url(randomBytes(8)), nonce: b64url(randomBytes(8)),
        code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
      })) url.searchParams.set(key, value);
      return { url, verifier };
    };
    const tokensOf = async (callback, verifier) => {
      const response = await fetch(`${server.api}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code') ?? '', redirect_uri: `${rp.base}/cb`, code_verifier: verifier }),
      });
      return { status: response.status, body: await response.json() };
    };
    const fresh = async (autofillOn) => {
      await context.clearCookies();
      await page.goto(`${server.origin}/health`);
      await setAutofill(autofillOn);
    };

    console.log('provider: Erin presses "Sign in with a passkey", no username typed');
    await fresh(false);
    const first = await authorize();
    await page.goto(first.url.href);
    check('provider: the username field asks for passkey autofill', (await page.getAttribute('#username', 'autocomplete')) === 'username webauthn');
    authenticatorId = await addAuthenticator();
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    let callback = page.waitForRequest((request) => request.url().startsWith(`${rp.base}/cb`));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    let reached = new URL((await callback).url());
    let tokens = await tokensOf(reached, first.verifier);
    let claims = tokens.status === 200 ? payloadOf(tokens.body.id_token) : {};
    check('provider: a code, and an ID token with amr pop + mfa and acr phrh', tokens.status === 200 && claims.acr === 'phrh' && JSON.stringify(claims.amr) === '["pop","mfa"]', JSON.stringify(tokens.body));
    check('provider: no password was posted', !posted.includes('/authorize/password'), JSON.stringify(posted));
    await keep();

    console.log('provider: a fresh browser session, autofill signs Erin in with nothing clicked');
    await fresh(true);
    const second = await authorize();
    authenticatorId = await addAuthenticator();
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    callback = page.waitForRequest((request) => request.url().startsWith(`${rp.base}/cb`));
    // Nothing clicked, nothing typed: the virtual authenticator answers the page's conditional request as a person picking the passkey would.
    await page.goto(second.url.href);
    reached = new URL((await callback).url());
    tokens = await tokensOf(reached, second.verifier);
    claims = tokens.status === 200 ? payloadOf(tokens.body.id_token) : {};
    check('provider: the conditional request signed Erin in (acr phrh)', tokens.status === 200 && claims.acr === 'phrh', JSON.stringify(tokens.body));
    await keep();

    console.log('provider: no passkey on this device; Erin types her password instead');
    await fresh(true);
    const third = await authorize();
    await page.goto(third.url.href);
    const before = posted.filter((path) => path === '/authorize/passkey-signin').length;
    await page.fill('#username', erin);
    await page.fill('#password', password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('button[name="passkey"]').filter({ hasText: 'Use a passkey' }).waitFor();
    check('provider: the password step went on to the second step, with no error shown', (await page.locator('[role="alert"]').count()) === 0);
    check('provider: the aborted autofill posted nothing', posted.filter((path) => path === '/authorize/passkey-signin').length === before, JSON.stringify(posted));

    console.log('provider: an authenticator that cannot verify Erin (isUserVerified: false)');
    await fresh(false);
    const fourth = await authorize();
    await page.goto(fourth.url.href);
    authenticatorId = await addAuthenticator({ isUserVerified: false });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    // The browser cannot satisfy userVerification "required" (the status line says so); an assertion without UV sent anyway would be refused (the alert).
    await page.locator('#signin-passkey-status, [role="alert"]').filter({ hasText: /No passkey was used|not accepted/ }).first().waitFor();
    check('provider: no sign-in without UV: still on the sign-in page, no callback', !page.url().startsWith(rp.base) && (await page.locator('#signin-passkey-form').count()) === 1, page.url());
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });

    check('provider: no page errors, CSP violations or requests to other origins', problems.length === 0, problems.join('; '));
  } finally {
    await page.close().catch(() => {});
    await rp.close();
  }
}
