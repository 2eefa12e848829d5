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
// anyway is refused (401). Exits non-zero on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const outDir = join(root, 'e2e-output');
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`  ✓ ${name}`);
    return;
  }
  failed += 1;
  console.log(`  ✗ ${name}${detail ? `: ${detail}` : ''}`);
  throw new Error(`check failed: ${name}`);
}

/** `E2E_PORTS=8961-8969`: ports from that range only (a shared machine); else any free port. */
const portRange = /^(\d+)-(\d+)$/.exec(process.env.E2E_PORTS ?? '');
let nextPort = portRange ? Number(portRange[1]) : 0;
function listenOn(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}
async function freePort() {
  if (!portRange) return listenOn(0);
  for (; nextPort <= Number(portRange[2]); nextPort++) {
    try {
      return await listenOn(nextPort++);
    } catch {
      // in use
    }
  }
  throw new Error(`E2E_PORTS ${process.env.E2E_PORTS}: no free port`);
}

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
/** RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function waitForHealth(base, child, timeoutMs = 120_000) {
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

async function main() {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'edge-mfa-e2e-passwordless-'));
  const persist = join(work, 'state');
  const envFile = join(work, 'secrets.env');
  const secret = () => randomBytes(32).toString('hex');
  writeFileSync(envFile, `JWT_SECRET=${secret()}\nTOTP_ENCRYPTION_KEY=${secret()}\n`, { mode: 0o600 });
  const [port, inspectorPort] = [await freePort(), await freePort()];
  // The browser's origin; node's own calls go to the same server over 127.0.0.1.
  const origin = `http://localhost:${port}`;
  const api = `http://127.0.0.1:${port}`;
  const log = join(outDir, 'wrangler-passwordless.log');
  let child;
  let context;
  try {
    const migrate = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: root, env, encoding: 'utf8' });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
    const logFd = openSync(log, 'w');
    child = spawn(
      process.execPath,
      [
        wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', persist, '--env-file', envFile,
        '--var', 'ENVIRONMENT:development', '--var', 'WEBAUTHN_RP_ID:localhost', '--var', `WEBAUTHN_ORIGINS:${origin}`,
        '--show-interactive-dev-session=false', '--live-reload=false',
      ],
      { cwd: root, env, stdio: ['ignore', logFd, logFd], detached: true },
    );
    console.log(`wrangler dev on ${origin} (log: e2e-output/wrangler-passwordless.log)`);
    await waitForHealth(api, child);
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      viewport: { width: 900, height: 1200 },
    });
    await runJourney(context, origin, api);
  } finally {
    if (context) await context.close().catch(() => {});
    if (child && child.exitCode === null) {
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

async function post(api, path, token, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${api}${path}`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function runJourney(context, origin, api) {
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });
  const signinVerifies = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/webauthn/signin/verify')) signinVerifies.push(res.status());
  });
  let shot = 0;
  const screenshot = async (name) => {
    shot += 1;
    await page.screenshot({ path: join(outDir, `passwordless-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const addAuthenticator = async (overrides = {}) =>
    (
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true, ...overrides },
      })
    ).authenticatorId;
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
    await page.locator('#step-account').waitFor({ state: 'visible' });
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
  const options = await post(api, '/webauthn/signin/options');
  const unverified = await page.evaluate(async (publicKey) => {
    const request = PublicKeyCredential.parseRequestOptionsFromJSON({ ...publicKey, userVerification: 'discouraged' });
    return (await navigator.credentials.get({ publicKey: request })).toJSON();
  }, options.body.publicKey);
  check('the authenticator signed without verifying Dave (UV = 0)', (Buffer.from(unverified.response.authenticatorData, 'base64url')[32] & 0x04) === 0);
  const refused = await post(api, '/webauthn/signin/verify', null, { challengeId: options.body.challengeId, response: unverified });
  check('the server refuses a passwordless sign-in without UV: 401 invalid_credentials', refused.status === 401 && refused.body?.error === 'invalid_credentials', JSON.stringify(refused.body));
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: daveAuthenticator });

  check('no page errors, CSP violations or requests to other origins', problems.length === 0, problems.join('; '));
}

main()
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    if (failed === 0) failed = 1;
  })
  .finally(() => {
    console.log(`e2e passwordless: ${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  });
