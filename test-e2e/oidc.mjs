#!/usr/bin/env node
// `npm run test:e2e` (part): "Sign in with edge-mfa" in a real headless
// Chromium, driven by an outside OpenID client (panva's openid-client) against
// `wrangler dev` on http://localhost:PORT (localhost, not an IP: WebAuthn and
// the browser's secure-context rules want a name). A TOTP user (made through
// the JSON API) signs in through the hosted pages: discovery, the
// authorization URL with PKCE, password, the code from an authenticator
// (computed here as an app does), the callback; openid-client validates the
// ID token (signature through the JWKS, iss, aud, nonce, RFC 9207 iss), calls
// /userinfo and refreshes. Then a second client in the same browser gets its
// code with no page at all (SSO), and the same `sid`. Exits non-zero on any failure.
//
// Needs Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { check, freePort, jsonApi, outDir, runE2e, totp, watchPage } from './lib.mjs';

/** The provider (wrangler dev, opened as http://localhost:PORT) and the relying parties' callbacks. */
let base;
let RP;
const api = (path, options) => jsonApi(base, path, options);

/** A user with TOTP, made through the JSON API; the enrollment spends the code of this 30 s step. */
async function enrolledUser() {
  const username = `oidc_${randomBytes(4).toString('hex')}`;
  const password = 'correct horse battery staple';
  await api('/register', { json: { username, password } });
  const login = await api('/login', { json: { username, password } });
  const created = await api('/create-otp', { token: login.body.token, method: 'POST' });
  const verified = await api('/otp-verify', { token: login.body.token, json: { code: totp(created.body.secret, Date.now() / 1000) } });
  if (verified.status !== 200) throw new Error(`enrollment failed: ${JSON.stringify(verified.body)}`);
  return { username, password, secret: created.body.secret };
}

/** Runs the authorization request in the browser and returns the callback URL it lands on. */
async function authorizeInBrowser(page, url, signIn) {
  const callback = page.waitForRequest((request) => request.url().startsWith(`${RP}/`), { timeout: 20_000 });
  await page.goto(url.href);
  if (signIn) await signIn();
  try {
    return new URL((await callback).url());
  } catch (error) {
    await page.screenshot({ path: join(outDir, 'oidc-failed.png') }).catch(() => {});
    console.log(`  stuck at ${page.url()}: ${(await page.locator('main').innerText().catch(() => '')).slice(0, 500)}`);
    throw error;
  }
}

async function runJourney(context, adminToken) {
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watchPage(page, [base, RP]);

  const user = await enrolledUser();
  const register = async (name, redirect) => {
    const r = await api('/admin/clients', { token: adminToken, json: { name, redirectUris: [redirect], type: 'confidential', firstParty: true } });
    if (r.status !== 201) throw new Error(`client registration failed: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const first = await register('First app', `${RP}/first/cb`);
  const second = await register('Second app', `${RP}/second/cb`);

  // openid-client: discovery; http is allowed for this localhost issuer only.
  const options = { execute: [oidc.allowInsecureRequests] };
  const config = await oidc.discovery(new URL(base), first.clientId, first.clientSecret, undefined, options);
  check('discovery names the issuer byte for byte', config.serverMetadata().issuer === base);
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${RP}/first/cb`,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });

  const callback = await authorizeInBrowser(page, url, async () => {
    await page.locator('input[autocomplete~="username"]').fill(user.username);
    await page.locator('input[autocomplete="current-password"]').fill(user.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('input[autocomplete="one-time-code"]').waitFor();
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'oidc-1-second-factor.png') });
    // The next 30 s step: the enrollment above spent this one's code (replay is refused).
    await page.locator('input[autocomplete="one-time-code"]').fill(totp(user.secret, Date.now() / 1000 + 30));
    await page.getByRole('button', { name: 'Verify' }).click();
  });
  check('the browser lands on the callback with a code, state and iss', callback.searchParams.has('code') && callback.searchParams.get('iss') === base);

  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
  const claims = tokens.claims();
  check('openid-client validated the RS256 ID token (JWKS, iss, aud, nonce)', claims.iss === base && claims.aud === first.clientId && claims.nonce === nonce);
  check('the ID token says a second factor was proven', claims.acr === 'aal2' && JSON.stringify(claims.amr) === '["pwd","otp"]');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  check('/userinfo answers for the access token', info.sub === claims.sub && info.preferred_username === user.username);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  check('the refresh token rotates and keeps auth_time', refreshed.refresh_token !== tokens.refresh_token && refreshed.claims().auth_time === claims.auth_time);

  // A second client in the same browser: signed in by the provider session, no page shown.
  const config2 = await oidc.discovery(new URL(base), second.clientId, second.clientSecret, undefined, options);
  const verifier2 = oidc.randomPKCECodeVerifier();
  const nonce2 = oidc.randomNonce();
  const url2 = oidc.buildAuthorizationUrl(config2, {
    redirect_uri: `${RP}/second/cb`,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier2),
    code_challenge_method: 'S256',
    nonce: nonce2,
  });
  let pagesShown = 0;
  const countPages = (response) => {
    if (response.url().startsWith(base) && (response.headers()['content-type'] ?? '').startsWith('text/html')) pagesShown += 1;
  };
  page.on('response', countPages);
  const callback2 = await authorizeInBrowser(page, url2);
  page.off('response', countPages);
  check('the second client got its code without a page (SSO)', callback2.searchParams.has('code') && pagesShown === 0, `pages: ${pagesShown}`);
  const tokens2 = await oidc.authorizationCodeGrant(config2, callback2, { pkceCodeVerifier: verifier2, expectedNonce: nonce2, idTokenExpected: true });
  check('both ID tokens name the same provider session (sid)', tokens2.claims().sid === claims.sid);
  check('no console error, no request to another origin', problems.length === 0, problems.join('; '));
}
await runE2e('oidc', { admin: true, vars: (origin) => ({ ISSUER_URL: origin }) }, async ({ context, server }) => {
  base = server.origin;
  // The relying parties' callbacks: a page that only says it was reached (openid-client reads the URL).
  const rp = createServer((_request, response) => response.writeHead(200, { 'Content-Type': 'text/plain' }).end('callback reached'));
  const port = await freePort();
  await new Promise((resolve, reject) => rp.once('error', reject).listen(port, '127.0.0.1', resolve));
  RP = `http://localhost:${port}`;
  try {
    await runJourney(context, server.adminToken);
  } finally {
    await new Promise((resolve) => rp.close(() => resolve()));
  }
});
