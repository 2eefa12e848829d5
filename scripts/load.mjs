#!/usr/bin/env node
// `npm run load [-- --duration 20 --users 16 --port 8799 | --url http://127.0.0.1:P]`
//
// Load test against `wrangler dev` on loopback (not part of `npm test`). Unless
// --url names a running server, it starts one itself through scripts/dev.mjs
// (fresh .dev.vars if none, local D1 migrations) on 127.0.0.1:<port>, and
// stops it at the end. Virtual users loop over the whole journey (register,
// login, create-otp, otp-verify with a code computed from the secret, /me) for
// a fixed time; then every registered user must still log in. Prints request
// count, status counts and latency percentiles per route. A 503 unavailable with Retry-After (a hash queue past its bound) is retried after
// the seconds it gives, as a client would. Exits non-zero on any other
// 5xx, any unexpected status, or any user who cannot log in afterwards.
//
// Each virtual user sends its own CF-Connecting-IP, as distinct clients would,
// so the per-IP flood filter (60 a minute per path) does not turn the run into
// a test of the flood filter; 429s are still counted and reported.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { totp } from './totp.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split(/\s*--/)
    .filter(Boolean)
    .map((pair) => pair.split(/[ =]/)),
);
const durationSeconds = Number(args.duration ?? process.env.LOAD_DURATION_SECONDS ?? 20);
const users = Number(args.users ?? process.env.LOAD_USERS ?? 16);
const port = Number(args.port ?? 8799);
const external = args.url;
const base = external ?? `http://127.0.0.1:${port}`;
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(base)) {
  console.error('load: only loopback targets are allowed');
  process.exit(2);
}
const PASSWORD = 'load test passphrase 0123';
const run = randomBytes(3).toString('hex');

// --- the server -------------------------------------------------------------
let server;
async function startServer() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  server = spawn(process.execPath, ['scripts/dev.mjs', '--port', String(port), '--ip', '127.0.0.1'], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  if (process.env.LOAD_SERVER_LOG) {
    server.stdout.pipe(process.stderr);
    server.stderr.pipe(process.stderr);
  }
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`wrangler dev did not answer /health within 90 s:\n${log}`);
}
function stopServer() {
  if (server && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM'); // its own process group: dev.mjs, wrangler and workerd
    } catch {
      // already gone
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (stopServer(), process.exit(130)));


// --- measurement --------------------------------------------------------------
const latencies = new Map(); // route -> ms[]
const statuses = new Map(); // "route status" -> count
const problems = [];
let requests = 0;

async function request(vu, method, path, { token, json } = {}) {
  const headers = { 'CF-Connecting-IP': `10.77.${Math.floor(vu / 250)}.${(vu % 250) + 1}` };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const started = performance.now();
  const response = await fetch(`${base}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await response.text();
  const ms = performance.now() - started;
  requests += 1;
  const route = `${method} ${path}`;
  if (!latencies.has(route)) latencies.set(route, []);
  latencies.get(route).push(ms);
  statuses.set(`${route} ${response.status}`, (statuses.get(`${route} ${response.status}`) ?? 0) + 1);
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  // A 503 with Retry-After is the bounded queue's answer, retried by requestRetrying; any other 5xx is a problem.
  const overloaded = response.status === 503 && body?.error === 'unavailable' && response.headers.get('Retry-After');
  if (response.status >= 500 && !overloaded) problems.push(`${route}: ${response.status} ${text.slice(0, 200)}`);
  return { status: response.status, body, retryAfter: response.headers.get('Retry-After') };
}

/**
 * A client that honours 503 + Retry-After, as the password routes answer once an
 * isolate's hash queue is past its bound (src/crypto/hash-gate.ts): it waits the
 * seconds given and tries again. Each attempt's latency is recorded on its own,
 * so the percentiles show how long one request waits (bounded), and the 503
 * count how often the bound turned a request away.
 */
let retriedAfter503 = 0;
const RETRY_FOR_MS = 180_000;
async function requestRetrying(vu, method, path, options) {
  const giveUpAt = Date.now() + RETRY_FOR_MS;
  for (;;) {
    const r = await request(vu, method, path, options);
    if (r.status !== 503 || Date.now() > giveUpAt) return r;
    retriedAfter503 += 1;
    const seconds = Number(r.retryAfter);
    await new Promise((resolve) => setTimeout(resolve, (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000 * (0.5 + Math.random())));
  }
}

function expectStatus(step, r, expected) {
  if (r.status === expected) return true;
  // Bodies never carry a secret on error; the token/secret of a success is not printed.
  problems.push(`${step}: ${r.status} ${r.body?.error ?? ''}`);
  return false;
}

const registered = [];
async function virtualUser(vu, stopAt) {
  let i = 0;
  while (Date.now() < stopAt) {
    i += 1;
    const username = `load_${run}_${vu}_${i}`;
    const reg = await requestRetrying(vu, 'POST', '/register', { json: { username, password: PASSWORD } });
    if (!expectStatus('register', reg, 201)) continue;
    registered.push({ vu, username });
    const login = await requestRetrying(vu, 'POST', '/login', { json: { username, password: PASSWORD } });
    if (!expectStatus('login', login, 200)) continue;
    const created = await request(vu, 'POST', '/create-otp', { token: login.body.token });
    if (!expectStatus('create-otp', created, 201)) continue;
    const verified = await request(vu, 'POST', '/otp-verify', { token: login.body.token, json: { code: totp(created.body.secret) } });
    if (!expectStatus('otp-verify', verified, 200)) continue;
    const me = await request(vu, 'GET', '/me', { token: verified.body.token });
    if (expectStatus('me', me, 200) && me.body.mfaEnabled !== true) problems.push('me: mfaEnabled is not true');
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  if (!external) {
    console.log(`load: starting wrangler dev on ${base} ...`);
    await startServer();
  }
  console.log(`load: ${users} virtual users for ${durationSeconds} s against ${base}`);
  const started = Date.now();
  const stopAt = started + durationSeconds * 1000;
  await Promise.all(Array.from({ length: users }, (_, vu) => virtualUser(vu, stopAt)));
  const elapsed = (Date.now() - started) / 1000;
  const journeyRequests = requests;

  // Afterwards every registered user must still log in.
  let loginFailures = 0;
  const queue = [...registered];
  await Promise.all(
    Array.from({ length: Math.min(users, 8) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const r = await requestRetrying(next.vu, 'POST', '/login', { json: { username: next.username, password: PASSWORD } });
        if (r.status !== 200) {
          loginFailures += 1;
          problems.push(`final login: ${r.status} ${r.body?.error ?? ''}`);
        }
      }
    }),
  );

  console.log(`\nrequests: ${journeyRequests} in ${elapsed.toFixed(1)} s (${(journeyRequests / elapsed).toFixed(1)}/s), plus ${requests - journeyRequests} final logins`);
  console.log(`journeys started: ${registered.length}; users who could log in afterwards: ${registered.length - loginFailures}/${registered.length}`);
  console.log('\nstatus counts:');
  for (const [key, count] of [...statuses].sort()) console.log(`  ${key.padEnd(24)} ${count}`);
  console.log('\nlatency (ms):            n     p50     p90     p99     max');
  for (const [route, values] of [...latencies].sort()) {
    const sorted = [...values].sort((a, b) => a - b);
    const cols = [50, 90, 99].map((p) => percentile(sorted, p).toFixed(0).padStart(7));
    console.log(`  ${route.padEnd(18)} ${String(sorted.length).padStart(5)} ${cols.join(' ')} ${sorted.at(-1).toFixed(0).padStart(7)}`);
  }
  const fiveXX = [...statuses].filter(([key]) => / 5\d\d$/.test(key) && !/ 503$/.test(key)).reduce((n, [, c]) => n + c, 0);
  console.log(`\n503 unavailable with Retry-After (the hash queue's bound), retried: ${retriedAfter503}`);
  console.log(`5xx other than those: ${fiveXX}; other problems: ${problems.length}`);
  for (const problem of [...new Set(problems)].slice(0, 20)) console.log(`  ${problem}`);
  return fiveXX === 0 && problems.length === 0 && registered.length > 0 ? 0 : 1;
}

main()
  .then((code) => {
    stopServer();
    process.exit(code);
  })
  .catch((error) => {
    console.error(`load: ${error.message}`);
    stopServer();
    process.exit(1);
  });
