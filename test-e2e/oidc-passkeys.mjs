#!/usr/bin/env node
// `npm run test:e2e` (part): the provider's assurance levels and its logout, proven in a
// real headless Chromium driven by panva's openid-client, against `wrangler dev`
// (ENVIRONMENT=development) opened as http://localhost:PORT. Passkeys come from the
// DevTools Protocol's virtual authenticators, whose `defaultBackupEligibility` and
// `defaultBackupState` set the credential's BE and BS flags (WebAuthn L3 §6.1.3).
//
// Journey (issue 20): the relying party is registered through the support API with a
// post-logout redirect URI and a back-channel logout URI on a local server of this script.
// Dana has a device-bound passkey (BE=0); the RP asks for `acr_values=phrh`; she signs in
// on the hosted pages with her password and the passkey; openid-client validates the ID
// token, whose `acr` is `phrh` and `amr` names the passkey (`pop`, `hwk`). The RP signs her
// out at /end-session (id_token_hint, registered post_logout_redirect_uri, state): the
// browser lands there with the state, the back-channel receiver gets one `logout_token`
// that verifies through the JWKS (iss, aud, typ logout+jwt, events, sid = the ID token's,
// no nonce), the refresh token is dead and `prompt=none` finds no session. Sam's passkey
// is synced (BE=1, BS=1): "phrh phr" gets `phr`; then `phrh` alone is
// unmet_authentication_requirements (his account cannot prove more), at once with his live
// session, and after the password and passkey in a fresh browser.
//
// Passkey autofill: a page's conditional request may complete by itself with a virtual
// authenticator holding a resident credential. So no authenticator holds a credential
// while a username field shows: each passkey is made on a JSON document of the origin
// (/health), saved with WebAuthn.getCredentials and its authenticator removed; at the
// second step a new authenticator gets it back (WebAuthn.addCredential) just before
// "Use a passkey", and is removed after the callback (its counter saved).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { check, freePort, jsonApi, outDir, runE2e, virtualAuthenticators, watchPage } from './lib.mjs';

const TIMEOUT = 60_000;
const password = 'correct horse battery staple';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The relying party's side: callbacks and the post-logout page (plain text), and the back-channel receiver. */
async function startRelyingParty() {
  const logoutTokens = [];
  const waiters = [];
  const handler = (request, response) => {
    if (request.method === 'POST' && request.url === '/backchannel') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token');
        response.writeHead(token ? 200 : 400, { 'Cache-Control': 'no-store' }).end();
        if (!token) return;
        logoutTokens.push({ token, contentType: request.headers['content-type'] ?? '' });
        for (const wake of waiters.splice(0)) wake();
      });
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/plain' }).end('relying party reached');
  };
  const port = await freePort();
  // The provider's fetch may resolve localhost to either loopback address.
  const servers = [createServer(handler), createServer(handler)];
  await new Promise((resolve, reject) => servers[0].once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((resolve) => servers[1].once('error', () => resolve()).listen(port, '::1', resolve));
  return {
    base: `http://localhost:${port}`,
    logoutTokens,
    /** Resolves once `count` logout tokens arrived (or rejects after the timeout). */
    async waitForLogoutTokens(count, timeoutMs = TIMEOUT) {
      const deadline = Date.now() + timeoutMs;
      while (logoutTokens.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the back-channel receiver got ${logoutTokens.length} logout token(s), not ${count}, within ${timeoutMs / 1000} s`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve())))),
  };
}

await runE2e('oidc-passkeys', { admin: true, vars: (origin) => ({ ISSUER_URL: origin }) }, async ({ context, page, server }) => {
  const { origin } = server;
  const rp = await startRelyingParty();
  try {
    await journey(context, page, server, rp, origin);
  } finally {
    await rp.close();
  }
});

async function journey(context, page, server, rp, origin) {
  const problems = watchPage(page, [origin, rp.base]);
  // A loaded machine (two cores, other tests beside): wait long for what must happen.
  page.setDefaultTimeout(TIMEOUT);
  page.setDefaultNavigationTimeout(TIMEOUT);
  const { cdp, add } = await virtualAuthenticators(context, page);
  const authenticator = (synced) => add({ defaultBackupEligibility: synced, defaultBackupState: synced });

  /** An account with a passkey as its only second factor (a first enrollment through the JSON API; the browser makes the credential). */
  async function userWithPasskey(prefix, synced) {
    const username = `${prefix}_${randomBytes(4).toString('hex')}`;
    const registered = await jsonApi(server.api, '/register', { json: { username, password } });
    const login = await jsonApi(server.api, '/login', { json: { username, password } });
    if (registered.status !== 201 || login.status !== 200) throw new Error(`register/login: ${registered.status} ${login.status}`);
    const options = await jsonApi(server.api, '/webauthn/register/options', { token: login.body.token, json: { name: synced ? 'Phone (synced)' : 'Security key' } });
    if (options.status !== 200) throw new Error(`register options: ${options.status} ${JSON.stringify(options.body)}`);
    // A JSON document of the origin: a secure context for WebAuthn, with no username field and no autofill.
    if (page.url() !== `${origin}/health`) await page.goto(`${origin}/health`);
    const id = await authenticator(synced);
    const response = await page.evaluate(async (publicKey) => {
      const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) });
      return credential.toJSON();
    }, options.body.publicKey);
    const verified = await jsonApi(server.api, '/webauthn/register/verify', { token: login.body.token, json: { challengeId: options.body.challengeId, response } });
    if (verified.status !== 201) throw new Error(`register verify: ${verified.status} ${JSON.stringify(verified.body)}`);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: id });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
    const flags = await page.evaluate((json) => {
      // authenticatorData: rpIdHash (32 bytes), then the flags byte; BE = 0x08, BS = 0x10.
      const text = json.response.authenticatorData.replace(/-/g, '+').replace(/_/g, '/');
      const flagsByte = atob(text + '='.repeat((4 - (text.length % 4)) % 4)).charCodeAt(32);
      return { be: (flagsByte & 0x08) !== 0, bs: (flagsByte & 0x10) !== 0 };
    }, response);
    check(`${prefix}: the passkey is made with BE=${Number(synced)} BS=${Number(synced)} and is the account's second factor (201, recovery codes)`,
      flags.be === synced && flags.bs === synced && credentials.length === 1 && verified.body.recoveryCodes?.length === 10, JSON.stringify(flags));
    return { username, credential: credentials[0], synced };
  }

  /**
   * The hosted pages: password, then "Use a passkey" with the user's credential in an
   * authenticator added only now (past the username field). Returns the callback URL.
   */
  async function signIn(user, url) {
    const callback = page.waitForRequest((request) => request.url().startsWith(`${rp.base}/cb`), { timeout: TIMEOUT });
    await page.goto(url.href);
    await page.locator('input[autocomplete~="username"]').fill(user.username);
    await page.locator('input[autocomplete="current-password"]').fill(password);
    await page.getByRole('button', { name: 'Continue' }).click();
    const passkeyButton = page.locator('button[name="passkey"]');
    await passkeyButton.waitFor({ timeout: TIMEOUT });
    // The page's script (after the form) must hold the submit, or the form would go without an assertion.
    await page.waitForLoadState('domcontentloaded');
    const id = await authenticator(user.synced);
    await cdp.send('WebAuthn.addCredential', { authenticatorId: id, credential: user.credential });
    try {
      await passkeyButton.click();
      return new URL((await callback).url());
    } catch (error) {
      await page.screenshot({ path: join(outDir, 'oidc-passkeys-failed.png') }).catch(() => {});
      console.log(`  stuck at ${page.url()}: ${(await page.locator('main').innerText().catch(() => '')).slice(0, 500)}`);
      throw error;
    } finally {
      // The counter moved: keep the credential as the authenticator has it now.
      [user.credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
    }
  }

  /** An authorization request of openid-client (PKCE, nonce, state) with these extra parameters. */
  async function request(config, extra) {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.base}/cb`,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      ...extra,
    });
    return { url, checks: { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true } };
  }

  const created = await jsonApi(server.api, '/admin/clients', {
    token: server.adminToken,
    json: {
      name: 'Passkey app', type: 'confidential', firstParty: true,
      redirectUris: [`${rp.base}/cb`], postLogoutRedirectUris: [`${rp.base}/signed-out`], backchannelLogoutUri: `${rp.base}/backchannel`,
    },
  });
  check('the support API registers the client with its post-logout and back-channel URIs', created.status === 201 && created.body.backchannelLogoutUri === `${rp.base}/backchannel`, JSON.stringify(created.body));
  const client = created.body;
  const config = await oidc.discovery(new URL(origin), client.clientId, client.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  const metadata = config.serverMetadata();
  check('discovery offers phrh, back-channel logout with sid, and an end-session endpoint',
    metadata.issuer === origin && metadata.acr_values_supported?.includes('phrh') && metadata.backchannel_logout_session_supported === true && metadata.end_session_endpoint === `${origin}/end-session`);

  const dana = await userWithPasskey('dana', false);
  const sam = await userWithPasskey('sam', true);

  console.log('Dana, device-bound passkey: acr_values=phrh');
  const first = await request(config, { acr_values: 'phrh' });
  const danaCallback = await signIn(dana, first.url);
  const tokens = await oidc.authorizationCodeGrant(config, danaCallback, first.checks);
  const claims = tokens.claims();
  check('openid-client validated the ID token (JWKS signature, iss, aud, nonce, state, RFC 9207 iss)', claims.iss === origin && claims.aud === client.clientId && claims.nonce === first.checks.expectedNonce);
  check('acr is phrh', claims.acr === 'phrh', claims.acr);
  check('amr names the password and the device-bound passkey (pwd, pop, hwk)', ['pwd', 'pop', 'hwk'].every((method) => claims.amr?.includes(method)), JSON.stringify(claims.amr));
  check('the ID token names its provider session (sid)', typeof claims.sid === 'string' && claims.sid.length > 0);

  console.log('the relying party signs Dana out: /end-session and back-channel logout');
  const state = oidc.randomState();
  const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rp.base}/signed-out`, state });
  await page.goto(endSession.href);
  const landed = new URL(page.url());
  check('the browser lands on the registered post-logout URI with the state', `${landed.origin}${landed.pathname}` === `${rp.base}/signed-out` && landed.searchParams.get('state') === state, landed.href);
  await rp.waitForLogoutTokens(1);
  const [{ token: logoutToken, contentType }] = rp.logoutTokens;
  check('the logout token was POSTed as a form (application/x-www-form-urlencoded)', contentType.startsWith('application/x-www-form-urlencoded'), contentType);
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: origin, audience: client.clientId, typ: 'logout+jwt', maxTokenAge: '5m' });
  check('the logout token verifies through the JWKS (signature, iss, aud, typ logout+jwt; a kid)', protectedHeader.typ === 'logout+jwt' && decodeProtectedHeader(logoutToken).kid !== undefined);
  check('it carries the back-channel event, iat and jti, and no nonce',
    typeof payload.events?.[BACKCHANNEL_EVENT] === 'object' && typeof payload.iat === 'number' && typeof payload.jti === 'string' && !('nonce' in payload), JSON.stringify(payload));
  check('its sid is the ID token’s, its sub Dana’s', payload.sid === claims.sid && payload.sub === claims.sub, `${payload.sid} vs ${claims.sid}`);
  const refused = await oidc.refreshTokenGrant(config, tokens.refresh_token).then(() => null, (error) => error);
  check('the refresh token is dead (invalid_grant)', refused?.error === 'invalid_grant', String(refused));
  const silent = await request(config, { prompt: 'none' });
  const noSession = page.waitForRequest((r) => r.url().startsWith(`${rp.base}/cb`), { timeout: TIMEOUT });
  await page.goto(silent.url.href);
  const silentUrl = new URL((await noSession).url());
  check('the provider session is over: prompt=none answers login_required', silentUrl.searchParams.get('error') === 'login_required', silentUrl.search);

  console.log('Sam, synced passkey (BE=1): "phrh phr" gets phr; phrh alone is unmet');
  const second = await request(config, { acr_values: 'phrh phr' });
  const samTokens = await oidc.authorizationCodeGrant(config, await signIn(sam, second.url), second.checks);
  const samClaims = samTokens.claims();
  check('acr is phr, the first value a synced passkey meets', samClaims.acr === 'phr', samClaims.acr);
  check('amr names the passkey (pop) but not a device-bound key (no hwk)', samClaims.amr?.includes('pop') && !samClaims.amr.includes('hwk'), JSON.stringify(samClaims.amr));
  const third = await request(config, { acr_values: 'phrh' });
  let pagesShown = 0;
  const countPages = (response) => {
    if (response.url().startsWith(origin) && (response.headers()['content-type'] ?? '').startsWith('text/html')) pagesShown += 1;
  };
  page.on('response', countPages);
  const unmetCallback = page.waitForRequest((r) => r.url().startsWith(`${rp.base}/cb`), { timeout: TIMEOUT });
  await page.goto(third.url.href);
  const unmetUrl = new URL((await unmetCallback).url());
  page.off('response', countPages);
  const unmet = await oidc.authorizationCodeGrant(config, unmetUrl, third.checks).then(() => null, (error) => error);
  check('phrh alone: openid-client gets unmet_authentication_requirements (state and iss checked), with no page shown',
    unmet?.error === 'unmet_authentication_requirements' && pagesShown === 0, `${unmet} ${unmetUrl.search} pages: ${pagesShown}`);

  // Another browser (no provider session): the sign-in happens, proves phr, and still cannot give phrh.
  await context.clearCookies();
  const fourth = await request(config, { acr_values: 'phrh' });
  const freshUrl = await signIn(sam, fourth.url);
  const fresh = await oidc.authorizationCodeGrant(config, freshUrl, fourth.checks).then(() => null, (error) => error);
  check('phrh alone in a fresh browser: after the password and the synced passkey, unmet_authentication_requirements and no code',
    fresh?.error === 'unmet_authentication_requirements' && !freshUrl.searchParams.has('code'), `${fresh} ${freshUrl.search}`);

  check('exactly one logout token in all (Sam’s session is live)', rp.logoutTokens.length === 1, String(rp.logoutTokens.length));
  check('no console error, no request to another origin', problems.length === 0, problems.join('; '));
}
