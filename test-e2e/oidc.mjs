#!/usr/bin/env node
// `npm run test:e2e` (part): "Sign in with edge-mfa" in a real headless
// Chromium, driven by an outside OpenID client (panva's openid-client) against
// `wrangler dev` on http://localhost:8931 (localhost, not an IP: WebAuthn and
// the browser's secure-context rules want a name). A TOTP user (made through
// the JSON API) signs in through the hosted pages: discovery, the
// authorization URL with PKCE, password, the code from an authenticator
// (computed here as an app does), the callback; openid-client validates the
// ID token (signature through the JWKS, iss, aud, nonce, RFC 9207 iss), calls
// /userinfo and refreshes. Then a second client in the same browser gets its
// code with no page at all (SSO), and the same `sid`. Exits non-zero on any failure.
//
// Needs Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const outDir = join(root, 'e2e-output');
const PORT = Number(process.env.OIDC_E2E_PORT ?? 8931);
const base = `http://localhost:${PORT}`;
const RP = 'http://localhost:3999';
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

let passed = 0;
function check(name, ok, detail = '') {
  if (!ok) {
    console.log(`  ✗ ${name}${detail ? `: ${detail}` : ''}`);
    throw new Error(`check failed: ${name}`);
  }
  passed += 1;
  console.log(`  ✓ ${name}`);
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) over an RFC 4648 base32 secret, as an authenticator app computes it.
function totp(secret, unixSeconds) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const key = [];
  for (const char of secret.replace(/=/g, '')) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      key.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function waitForHealth(child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('wrangler dev did not answer /health in time');
}

async function api(path, { token, json, method } = {}) {
  const response = await fetch(`${base}${path}`, {
    method: method ?? (json === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

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
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith(RP) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });

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

async function main() {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'edge-mfa-oidc-e2e-'));
  const persist = join(work, 'state');
  const envFile = join(work, 'secrets.env');
  const secret = () => randomBytes(32).toString('hex');
  const adminToken = secret();
  writeFileSync(envFile, `JWT_SECRET=${secret()}\nTOTP_ENCRYPTION_KEY=${secret()}\nADMIN_TOKEN=${adminToken}\n`, { mode: 0o600 });
  let child;
  let context;
  // The relying parties' callbacks: a page that only says it was reached (openid-client reads the URL).
  const rp = createServer((_request, response) => response.writeHead(200, { 'Content-Type': 'text/plain' }).end('callback reached'));
  await new Promise((resolve) => rp.listen(3999, 'localhost', resolve));
  try {
    const migrate = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: root, env, encoding: 'utf8' });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
    const logFd = openSync(join(outDir, 'wrangler-oidc.log'), 'w');
    child = spawn(
      process.execPath,
      [wrangler, 'dev', '--ip', 'localhost', '--port', String(PORT), '--inspector-port', String(PORT + 1), '--persist-to', persist, '--env-file', envFile, '--show-interactive-dev-session=false', '--live-reload=false',
        '--var', `ISSUER_URL:${base}`, '--var', 'ENVIRONMENT:development', '--var', 'WEBAUTHN_RP_ID:localhost', '--var', `WEBAUTHN_ORIGINS:${base}`],
      { cwd: root, env, stdio: ['ignore', logFd, logFd], detached: true },
    );
    console.log(`wrangler dev on ${base} (log: e2e-output/wrangler-oidc.log)`);
    await waitForHealth(child);
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      viewport: { width: 900, height: 1000 },
    });
    await runJourney(context, adminToken);
  } finally {
    if (context) await context.close().catch(() => {});
    rp.close();
    if (child && child.exitCode === null) {
      // wrangler runs workerd as its child: end the whole group that we started.
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
          resolve();
        }, 5000);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => console.log(`oidc e2e: ${passed} checks passed`),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
