// What the browser tests share: a fresh `wrangler dev` (its own D1 and secrets in a
// temporary folder, free ports), Debian's headless Chromium through playwright-core,
// the checks' bookkeeping, TOTP as an authenticator app computes it, and the JSON API.
// Each script calls `runE2e(name, options, journey)` once; it exits non-zero on any
// failure and always stops what it started.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { portAllocator } from '../scripts/free-port.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const outDir = join(root, 'e2e-output');
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Nothing may call out: no wrangler metrics, no fetch of Request.cf data, no banner (its update check asks npm).
export const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true' };

let passed = 0;
let failed = 0;
const startedAt = Date.now();
/** Seconds since this script started, for the tally (where a slow run spent its time). */
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
let readyAfter = '';
/** One named expectation: printed, counted, and a failure ends the journey. */
export function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`  ✓ ${name}`);
    return;
  }
  failed += 1;
  console.log(`  ✗ ${name}${detail ? `: ${detail}` : ''}`);
  throw new Error(`check failed: ${name}`);
}

/** `E2E_PORTS=9400-9499`: ports from that range only (a shared machine); else any free port. */
export const freePort = portAllocator('E2E_PORTS');

/** RFC 6238 (SHA-1, 6 digits, 30 s) over an RFC 4648 base32 secret, as an authenticator app computes it. */
export { totp } from '../scripts/totp.mjs';

/** The JSON API: POST when `json` is given (or `method` says so), with a bearer token when given. */
export async function jsonApi(base, path, { token, json, method } = {}) {
  const response = await fetch(`${base}${path}`, {
    method: method ?? (json === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

export async function waitForHealth(base, child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('wrangler dev did not answer /health in time');
}

/** Ends the process group we started (wrangler runs workerd as its child): TERM, then KILL after 5 s. */
async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // Already gone.
  }
  let timer;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Applies the migrations to a new local D1 under `persist` (wrangler's own
 * command: a few seconds of CPU). Spawned, not spawnSync: Chromium's start goes on meanwhile.
 */
export async function applyMigrations(persist) {
  const migrate = spawn(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  migrate.stdout.on('data', (chunk) => output.push(chunk));
  migrate.stderr.on('data', (chunk) => output.push(chunk));
  const status = await new Promise((resolve) => migrate.on('close', (code) => resolve(code)));
  if (status !== 0) throw new Error(`migrations failed:\n${Buffer.concat(output).toString('utf8')}`);
}

/** A migrated local D1: a copy of E2E_D1_TEMPLATE (migrated once by scripts/e2e.mjs for all its scripts), else migrated here. */
async function freshD1(persist) {
  const template = process.env.E2E_D1_TEMPLATE;
  if (template) cpSync(template, persist, { recursive: true });
  else await applyMigrations(persist);
}

/**
 * `wrangler dev` on 127.0.0.1 with fresh D1 (migrated) and secrets. The browser
 * opens it as http://localhost:PORT (`origin`: WebAuthn and the secure-context
 * rules want a name); node may use `api` (127.0.0.1). `vars(origin)` adds or
 * overrides variables; `admin` adds an ADMIN_TOKEN for the support API.
 * Fills `server` as it goes (its `child` as soon as there is one, so a start
 * that fails is still stopped).
 */
async function startWrangler(work, name, { vars, admin }, server) {
  const persist = join(work, 'state');
  const envFile = join(work, 'secrets.env');
  const secret = () => randomBytes(32).toString('hex');
  const adminToken = admin ? secret() : undefined;
  writeFileSync(envFile, `JWT_SECRET=${secret()}\nTOTP_ENCRYPTION_KEY=${secret()}\n${adminToken ? `ADMIN_TOKEN=${adminToken}\n` : ''}`, { mode: 0o600 });
  const port = await freePort();
  const inspectorPort = await freePort();
  const origin = `http://localhost:${port}`;
  Object.assign(server, { origin, api: `http://127.0.0.1:${port}`, port, adminToken, log: join(outDir, `wrangler-${name}.log`) });
  await freshD1(persist);
  const allVars = { ENVIRONMENT: 'development', WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin, ...(vars ? vars(origin) : {}) };
  const logFd = openSync(server.log, 'w');
  server.child = spawn(
    process.execPath,
    [
      wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', persist, '--env-file', envFile,
      ...Object.entries(allVars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
      '--show-interactive-dev-session=false', '--live-reload=false',
    ],
    { cwd: root, env, stdio: ['ignore', logFd, logFd], detached: true },
  );
  console.log(`wrangler dev on ${origin} (log: e2e-output/wrangler-${name}.log)`);
  await waitForHealth(server.api, server.child);
}

/**
 * Runs one browser test: wrangler dev and headless Chromium (a persistent
 * profile in the temporary folder) started side by side, then
 * `journey({ context, page, server, work })`;
 * stops both and removes the folder whatever happens, prints the tally and sets
 * the exit code. Options: `vars(origin)`, `admin`, `contextOptions` (playwright's,
 * such as `viewport`).
 */
export function runE2e(name, options, journey) {
  const main = async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    mkdirSync(outDir, { recursive: true });
    const work = mkdtempSync(join(tmpdir(), `edge-mfa-e2e-${name}-`));
    const server = {};
    let context;
    try {
      // Chromium starts while the migrations run and wrangler dev comes up.
      const browser = chromium.launchPersistentContext(join(work, 'chromium-profile'), {
        executablePath,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
        viewport: { width: 900, height: 1000 },
        ...options.contextOptions,
      });
      const [started, launched] = await Promise.allSettled([startWrangler(work, name, options, server), browser]);
      if (launched.status === 'fulfilled') context = launched.value;
      if (started.status === 'rejected') throw started.reason;
      if (launched.status === 'rejected') throw launched.reason;
      readyAfter = elapsed();
      const page = context.pages()[0] ?? (await context.newPage());
      await journey({ context, page, server, work });
    } finally {
      if (context) await context.close().catch(() => {});
      await stopGroup(server.child);
      rmSync(work, { recursive: true, force: true });
    }
  };
  return main()
    .catch((error) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      // openid-client's errors carry the OAuth error (RFC 6749 §4.1.2.1, §5.2).
      if (typeof error?.error === 'string') console.error(`OAuth error: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
      if (failed === 0) failed = 1;
    })
    .finally(() => {
      console.log(`e2e ${name}: ${passed} passed, ${failed} failed (${elapsed()}; server and browser ready after ${readyAfter || '-'})`);
      process.exitCode = failed === 0 ? 0 : 1;
    });
}

/**
 * Collects what must never happen on a page: a page error, a console error (the
 * browser's "Failed to load resource" for an expected 4xx aside: a CSP refusal or
 * a script error counts), a request to an origin not listed. Checked at the end.
 */
export function watchPage(page, allowedPrefixes) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && !allowedPrefixes.some((prefix) => url.startsWith(prefix))) problems.push(`request to another origin: ${url}`);
  });
  return problems;
}

/**
 * Chromium's virtual authenticators for `page` (the DevTools Protocol's WebAuthn
 * domain): `add(overrides)` makes a platform authenticator (ctap2, internal,
 * resident keys, user verification, presence given) and answers its id; `cdp`
 * is the session, for the other WebAuthn commands.
 */
export async function virtualAuthenticators(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const options = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true };
  const add = async (overrides = {}) => (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...options, ...overrides } })).authenticatorId;
  return { cdp, add };
}
