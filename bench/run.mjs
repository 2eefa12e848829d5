#!/usr/bin/env node
// `npm run bench`: measures inside workerd (micro-benchmarks), through
// `wrangler dev` on loopback (end to end, against a baseline worker on the
// same local D1), and the deployable bundle. Prints the figures, writes
// BENCHMARKS.md and bench/chart.svg. Exits non-zero only when it could not
// measure, never because a target was missed. See BENCHMARKS.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import { load, median, outDir, percentile, root, rssBytes, runWrangler, send, sleep, startWorker, totpNow } from './lib.mjs';
import { writeReport } from './report.mjs';
import { insertRowsSection, rowsAndStorageStep } from './rows.mjs';
import { insertStorageSection } from './storage.mjs';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 7;
const E2E_ROUNDS = QUICK ? 1 : 2;
const PHASE_MS = QUICK ? 3000 : 5000;
const CONNECTIONS = 50;
const OTP_USERS = QUICK ? 3000 : 8000;
const ME_USERS = 200;
const REFRESH_USERS = QUICK ? 3000 : 8000;
const LOGIN_USERS = CONNECTIONS;
const MEMORY_LOGINS = QUICK ? 60 : 300;
const PASSWORD = 'correct horse battery staple';

const started = Date.now();
const loadBefore = os.loadavg();
const state = `${outDir}state`;
const running = new Set();
const vars = { JWT_SECRET: randomBytes(32).toString('hex'), TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
const results = { quick: QUICK, micro: {}, e2e: {}, fairness: null, memory: null, bundle: null, login: null };

const log = (...args) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s]`, ...args);

async function start(name, config, readyPath) {
  log(`starting ${name} (wrangler dev -c ${config})`);
  const worker = await startWorker(name, config, { vars, readyPath, persistTo: state });
  running.add(worker);
  return worker;
}

async function stop(worker) {
  await worker.stop();
  running.delete(worker);
}

async function getJson(base, path, init) {
  const response = await fetch(base + path, { ...init, signal: AbortSignal.timeout(300_000) });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function shuffled(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Rounds of one call per contender, in a fresh random order each round; per-op figures are medians. */
async function interleaved(base, path, impls, n, rounds) {
  const samples = Object.fromEntries(impls.map((impl) => [impl, []]));
  for (const impl of impls) await getJson(base, `${path}?impl=${impl}&n=${Math.max(1, Math.floor(n / 5))}`); // warm up
  for (let round = 0; round < rounds; round++) {
    for (const impl of shuffled(impls)) {
      const { ms, ok } = await getJson(base, `${path}?impl=${impl}&n=${n}`);
      if (ok !== n) throw new Error(`${path} ${impl}: ${ok} of ${n} succeeded`);
      samples[impl].push(ms / n);
    }
  }
  return Object.fromEntries(impls.map((impl) => [impl, { msPerOp: median(samples[impl]), samples: samples[impl] }]));
}

/** Micro-benchmarks in the bench worker, then the seeding of the shared local D1. */
async function microAndSeed() {
  const micro = await start('micro', 'bench/micro.toml', '/totp?impl=ours&n=1');
  try {
    log('TOTP verify ±1 step: ours, ours (key imported per verify), otplib, node:crypto createHmac');
    results.micro.totp = await interleaved(micro.base, '/totp', ['ours', 'ours-import', 'otplib', 'hmac'], QUICK ? 500 : 2000, ROUNDS);
    log('token sign + verify: ours (key imported once) vs jose (raw secret each time)');
    results.micro.jwt = await interleaved(micro.base, '/jwt', ['ours', 'jose'], QUICK ? 100 : 300, ROUNDS);
    log('token verify with a cached key: access token (Ed25519) vs password-only token (HS256)');
    results.micro.verify = await interleaved(micro.base, '/verify', ['eddsa', 'hs256'], QUICK ? 300 : 1000, ROUNDS);
    log('scrypt N=2^14 r=8 p=5: noble scryptAsync vs node:crypto scrypt');
    results.micro.scrypt = await interleaved(micro.base, '/scrypt', ['noble', 'native'], 1, QUICK ? 2 : 5);
    log(`seeding ${OTP_USERS} /otp-verify users, ${ME_USERS} /me users, ${REFRESH_USERS} /refresh users, ${LOGIN_USERS} /login users`);
    const body = JSON.stringify({ prefix: 'b', otpUsers: OTP_USERS, meUsers: ME_USERS, refreshUsers: REFRESH_USERS, loginUsers: LOGIN_USERS, password: PASSWORD });
    return await getJson(micro.base, '/seed', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  } finally {
    await stop(micro);
  }
}

function summarize(runs) {
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const latencies = runs.flatMap((run) => run.latencies);
  const statuses = {};
  for (const run of runs) for (const [status, count] of Object.entries(run.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  return {
    requests,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    statuses,
    rps: requests / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    exhausted: runs.some((run) => run.exhausted),
  };
}

async function main() {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  log('applying migrations to a fresh local D1 in bench/out/state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, '-c', 'bench/app.toml']);

  const seed = await microAndSeed();
  log(`seeded ${seed.rows} rows`);

  // Requests that each consume something are generated lazily, so codes are computed at send time.
  let otpCursor = 0;
  const otpRequest = () => {
    const user = seed.otp[otpCursor++];
    if (!user) return null;
    return {
      method: 'POST',
      path: '/otp-verify',
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: totpNow(user.secret) }),
    };
  };
  // Each seeded refresh token is good for one rotation, like each /otp-verify user's code.
  let refreshCursor = 0;
  const refreshRequest = () => {
    const refreshToken = seed.refresh[refreshCursor++];
    if (!refreshToken) return null;
    return { method: 'POST', path: '/refresh', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken }) };
  };
  const meRequest = (i) => ({ path: '/me', headers: { Authorization: `Bearer ${seed.me[i % seed.me.length].token}` } });
  const readRequest = (i) => ({ path: `/read?id=${encodeURIComponent(seed.me[i % seed.me.length].sid)}` });
  const readUpdateRequest = (i) => ({ method: 'POST', path: `/read-update?id=${encodeURIComponent(seed.me[i % seed.me.length].sid)}` });
  const loginRequest = (i) => ({
    method: 'POST',
    path: '/login',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: seed.logins[i % seed.logins.length], password: PASSWORD }),
  });

  const runs = { otp: [], me: [], refresh: [], read: [], readUpdate: [] };
  const phase = (base, next, durationMs = PHASE_MS, maxRequests = 100_000) =>
    load(base, { connections: CONNECTIONS, durationMs, maxRequests, next });

  const appRound = async (last) => {
    const app = await start('app', 'bench/app.toml', '/health');
    try {
      await phase(app.base, meRequest, 1000); // warm up
      await phase(app.base, otpRequest, 500);
      log('app: /otp-verify, 50 connections');
      runs.otp.push(await phase(app.base, otpRequest));
      log('app: /me, 50 connections');
      runs.me.push(await phase(app.base, meRequest));
      await phase(app.base, refreshRequest, 500);
      log('app: /refresh, 50 connections');
      runs.refresh.push(await phase(app.base, refreshRequest));
      if (last) await appExtras(app, meRequest, loginRequest);
    } finally {
      await stop(app);
    }
  };
  const baselineRound = async () => {
    const baseline = await start('baseline', 'bench/baseline.toml', '/read');
    try {
      await phase(baseline.base, readRequest, 1000); // warm up
      log('baseline: read, 50 connections');
      runs.read.push(await phase(baseline.base, readRequest));
      log('baseline: read + update, 50 connections');
      runs.readUpdate.push(await phase(baseline.base, readUpdateRequest));
    } finally {
      await stop(baseline);
    }
  };
  // Alternate which goes first, so neither always runs on a warmer or quieter machine.
  for (let round = 0; round < E2E_ROUNDS; round++) {
    const last = round === E2E_ROUNDS - 1;
    if (round % 2 === 0) {
      await baselineRound();
      await appRound(last);
    } else {
      await appRound(last);
      await baselineRound();
    }
  }
  results.e2e = {
    otp: summarize(runs.otp),
    me: summarize(runs.me),
    refresh: summarize(runs.refresh),
    read: summarize(runs.read),
    readUpdate: summarize(runs.readUpdate),
  };

  await bundle();
  log('rows read and written per route (D1 meta), one journey');
  const rows = await rowsAndStorageStep();
  results.rows = rows.summary;
  results.seconds = (Date.now() - started) / 1000;
  results.loadBefore = loadBefore;
  results.loadAfter = os.loadavg();
  writeFileSync(`${outDir}results.json`, JSON.stringify(results, (key, value) => (key === 'latencies' ? undefined : value), 2));
  writeReport(results);
  // writeReport rewrites BENCHMARKS.md; put the rows and storage sections back.
  insertRowsSection(rows.section);
  insertStorageSection(rows.storage.section);
}

/** Fairness, memory and /login under load, on the last app process. */
async function appExtras(app, meRequest, loginRequest) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const sequentialMe = async (count, untilMs) => {
    const latencies = [];
    let errors = 0;
    for (let i = 0; i < count && performance.now() < untilMs; i++) {
      const t0 = performance.now();
      const { status } = await send(agent, app.base, meRequest(i));
      latencies.push(performance.now() - t0);
      if (status !== 200) errors++;
    }
    return { latencies, errors };
  };
  log('fairness: /me one at a time, idle');
  const idle = await sequentialMe(200, performance.now() + 20_000);
  log('fairness: /me one at a time while 4 logins hash without pause');
  let hashing = true;
  let loginsDone = 0;
  let loginErrors = 0;
  const loginLoop = async (who) => {
    for (let i = 0; hashing; i++) {
      const { status } = await send(agent, app.base, loginRequest(who + 4 * i));
      loginsDone++;
      if (status !== 200) loginErrors++;
    }
  };
  const loops = [0, 1, 2, 3].map(loginLoop);
  await sleep(500);
  const busy = await sequentialMe(200, performance.now() + (QUICK ? 8000 : 20_000));
  hashing = false;
  await Promise.all(loops);
  results.fairness = {
    idle: { n: idle.latencies.length, p50: percentile(idle.latencies, 50), p99: percentile(idle.latencies, 99), errors: idle.errors },
    busy: { n: busy.latencies.length, p50: percentile(busy.latencies, 50), p99: percentile(busy.latencies, 99), errors: busy.errors },
    logins: loginsDone,
    loginErrors,
  };

  log(`memory: workerd RSS over ${MEMORY_LOGINS} sequential logins (pid ${app.workerdPid})`);
  const samples = [];
  let memoryErrors = 0;
  for (let i = 0; i <= MEMORY_LOGINS; i++) {
    if (i % 10 === 0 && app.workerdPid) samples.push({ logins: i, rssMiB: rssBytes(app.workerdPid) / 2 ** 20 });
    if (i === MEMORY_LOGINS) break;
    const { status } = await send(agent, app.base, loginRequest(i));
    if (status !== 200) memoryErrors++;
  }
  results.memory = { samples, errors: memoryErrors, logins: MEMORY_LOGINS };
  agent.destroy();

  log('app: /login, 50 connections (each login hashes for real)');
  results.login = summarize([await load(app.base, { connections: CONNECTIONS, durationMs: 60_000, maxRequests: QUICK ? 50 : 100, next: loginRequest })]);
  results.loginRssMiB = app.workerdPid ? rssBytes(app.workerdPid) / 2 ** 20 : null;
}

function gzipSize(dir) {
  let raw = 0;
  let gzipped = 0;
  const walk = (path) => {
    for (const entry of readdirSync(path)) {
      const full = `${path}/${entry}`;
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(m?js|wasm)$/.test(entry)) {
        const bytes = readFileSync(full);
        raw += bytes.length;
        gzipped += gzipSync(bytes, { level: 9 }).length;
      }
    }
  };
  walk(dir);
  return { rawKiB: raw / 1024, gzipKiB: gzipped / 1024 };
}

async function bundle() {
  log('bundle: wrangler deploy --dry-run for the app and for a bare Hono worker');
  const build = async (config, name) => {
    const dir = `${outDir}bundle-${name}`;
    const output = await runWrangler(['deploy', '--dry-run', '--outdir', dir, '-c', config]);
    const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
    return { ...gzipSize(dir), wranglerGzipKiB: reported ? Number(reported[2]) : null };
  };
  results.bundle = { app: await build('wrangler.toml', 'app'), bare: await build('bench/bare-hono.toml', 'bare') };
}

const cleanup = async () => {
  for (const worker of [...running]) await stop(worker);
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

const only = process.argv.indexOf('--only');
if (only !== -1) {
  // One step alone: `rows` (a few seconds, no load generated) or `shards` (bench/shards.mjs, minutes).
  const name = process.argv[only + 1];
  if (name !== 'rows' && name !== 'shards') {
    console.error(`bench: --only takes "rows" or "shards", not ${JSON.stringify(name)}`);
    process.exit(2);
  }
  if (name === 'shards') await (await import('./shards.mjs')).shardsStep();
  else await rowsAndStorageStep();
  process.exit(0);
}

if (process.argv.includes('--report-only')) {
  // Re-render BENCHMARKS.md and the chart from the last run's bench/out/results.json.
  writeReport(JSON.parse(readFileSync(`${outDir}results.json`, 'utf8')));
  process.exit(0);
}

try {
  await main();
  log('done');
} catch (error) {
  console.error('bench: could not measure:', error);
  await cleanup();
  process.exit(1);
}
