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
import { cpuSeconds, load, median, outDir, percentile, root, rssBytes, runWrangler, send, sleep, startWorker, totpNow } from './lib.mjs';
import { createPasskey } from './authenticator.mjs';
import { printTargets, writeReport } from './report.mjs';
import { insertRowsSection, rowsAndStorageStep } from './rows.mjs';
import { insertStorageSection } from './storage.mjs';
import { profiled } from './profile.mjs';
import { oidcVars, prepareCodes, registerClient, signIn as oidcSignIn } from './oidc.mjs';

const QUICK = process.argv.includes('--quick');
/** `--profile`: a CPU profile of the app's isolate during each measured app phase (bench/profile.mjs). */
const PROFILE = process.argv.includes('--profile');
/** `--only <step>`: one step alone (see the end of this file). */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const ROUNDS = QUICK ? 3 : 7;
const E2E_ROUNDS = QUICK ? 1 : 2;
const PHASE_MS = QUICK ? 3000 : 5000;
const CONNECTIONS = 50;
const OTP_USERS = QUICK ? 3000 : 8000;
const ME_USERS = 200;
const REFRESH_USERS = QUICK ? 3000 : 8000;
const LOGIN_USERS = CONNECTIONS;
// Each /webauthn/login/verify spends a password-only session; a round prepares this many (a challenge each).
const PASSKEY_USERS_PER_ROUND = QUICK ? 800 : 1500;
const PASSKEY_USERS = PASSKEY_USERS_PER_ROUND * E2E_ROUNDS;
const MEMORY_LOGINS = QUICK ? 60 : 300;
const PASSWORD = 'correct horse battery staple';

const started = Date.now();
const loadBefore = os.loadavg();
const state = `${outDir}state`;
/** The end-to-end routes to run (`--routes otp,me,refresh,passkey,signin,oidc`; default all but oidc); the baselines always run. */
const E2E_ROUTES = listArg('--routes') ?? ['otp', 'me', 'refresh', 'passkey', 'signin'];
// Each passwordless sign-in needs a challenge (POST /webauthn/signin/options); a round prepares this many.
const SIGNINS_PER_ROUND = QUICK ? 800 : 1500;
// `--routes oidc` (issue 19): POST /token, its codes issued before each phase (60 s lifetime) on the provider sessions of this many users.
const OIDC_USERS = 10;
const CODES_PER_ROUND = QUICK ? 1500 : 3000;
const running = new Set();
const vars = { JWT_SECRET: randomBytes(32).toString('hex'), TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex'), ...(E2E_ROUTES.includes('oidc') ? oidcVars : {}) };
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

/** The micro-benchmarks, each `[name, log line, contenders, n, rounds]`; `--micro a,b` picks some. */
const MICRO_STEPS = [
  ['totp', 'TOTP verify ±1 step: ours, ours (key imported per verify), otplib, node:crypto createHmac', ['ours', 'ours-import', 'otplib', 'hmac'], QUICK ? 500 : 2000, ROUNDS],
  ['jwt', 'token sign + verify: ours (key imported once) vs jose (raw secret each time)', ['ours', 'jose'], QUICK ? 100 : 300, ROUNDS],
  [
    'verify',
    'token verify with a cached key: access token (Ed25519) vs password-only token (HS256); jose jwtVerify and the bare signature check for reference',
    ['eddsa', 'hs256', 'eddsa-jose', 'ed25519-raw'],
    QUICK ? 300 : 1000,
    ROUNDS,
  ],
  ['scrypt', 'scrypt N=2^14 r=8 p=5: noble scryptAsync vs node:crypto scrypt', ['noble', 'native'], 1, QUICK ? 2 : 5],
];

function listArg(flag) {
  const at = process.argv.indexOf(flag);
  return at === -1 ? null : process.argv[at + 1].split(',');
}

async function runMicro(base) {
  const picked = listArg('--micro');
  for (const [name, line, impls, n, rounds] of MICRO_STEPS) {
    if (picked && !picked.includes(name)) continue;
    log(line);
    results.micro[name] = await interleaved(base, `/${name}`, impls, n, rounds);
  }
}

/** Micro-benchmarks in the bench worker (unless `micro` is false), then the seeding of the shared local D1. */
async function microAndSeed({ micro: withMicro = true } = {}) {
  const micro = await start('micro', 'bench/micro.toml', '/totp?impl=ours&n=1');
  try {
    if (withMicro) await runMicro(micro.base);
    const wanted = E2E_ROUTES;
    // The passwordless sign-in reuses the passkey users (it consumes no session, and their counters stay 0).
    const passkeys = wanted.includes('passkey') || wanted.includes('signin') ? passkeyAuthenticators(PASSKEY_USERS) : [];
    log(`seeding ${OTP_USERS} /otp-verify users, ${ME_USERS} /me users, ${REFRESH_USERS} /refresh users, ${passkeys.length} passkey users, ${LOGIN_USERS} /login users`);
    const body = JSON.stringify({
      prefix: 'b',
      otpUsers: wanted.includes('otp') ? OTP_USERS : 0,
      meUsers: ME_USERS,
      refreshUsers: wanted.includes('refresh') ? REFRESH_USERS : 0,
      loginUsers: LOGIN_USERS,
      passkeyUsers: passkeys.map((authenticator) => authenticator.seed),
      oidcUsers: wanted.includes('oidc') ? OIDC_USERS : 0,
      password: PASSWORD,
    });
    const seeded = await getJson(micro.base, '/seed', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    seeded.passkey = seeded.passkey.map((user, i) => ({ ...user, authenticator: passkeys[i] }));
    return seeded;
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
    // CPU of the serving processes (wrangler's node and workerd) per request: steadier than req/s on a shared machine.
    cpuMsPerRequest: (runs.reduce((sum, run) => sum + (run.cpuSeconds ?? NaN), 0) * 1000) / requests,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    exhausted: runs.some((run) => run.exhausted),
  };
}

function passkeyAuthenticators(count) {
  return Array.from({ length: count }, createPasskey);
}

async function freshState() {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  log('applying migrations to a fresh local D1 in bench/out/state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, '-c', 'bench/app.toml']);
}

/**
 * The passkey step's preparation, outside the measured phase: POST /webauthn/login/options
 * for each of `users` (50 at a time, as a load phase), then the signed assertion for the
 * challenge it got. Returns the /webauthn/login/verify requests and the options figures.
 */
async function preparePasskeyLogins({ base, pids }, users) {
  const cpuBefore = cpuSeconds(pids);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const prepared = [];
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let cursor = 0;
  const t0 = performance.now();
  const client = async () => {
    for (let user = users[cursor++]; user; user = users[cursor++]) {
      const sent = performance.now();
      const { status, json } = await send(agent, base, { method: 'POST', path: '/webauthn/login/options', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' }, body: '{}' }, true);
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 200) {
        errors++;
        continue;
      }
      const body = JSON.stringify({ challengeId: json.challengeId, response: user.authenticator.assert(json.publicKey.challenge, user.id) });
      prepared.push({ method: 'POST', path: '/webauthn/login/verify', headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' }, body });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  agent.destroy();
  const options = { requests: latencies.length, errors, statuses, seconds: (performance.now() - t0) / 1000, latencies, exhausted: false, cpuSeconds: cpuSeconds(pids) - cpuBefore };
  return { prepared, options };
}

/**
 * The passwordless sign-in's preparation, outside the measured phase: POST
 * /webauthn/signin/options (no token, no body) `count` times, 50 at a time, each answered
 * by a passkey user's discoverable credential (user handle = user id). Returns the
 * /webauthn/signin/verify requests and the options figures.
 */
async function prepareSignins({ base, pids }, users, count) {
  const cpuBefore = cpuSeconds(pids);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const prepared = [];
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let cursor = 0;
  const t0 = performance.now();
  const client = async () => {
    for (let i = cursor++; i < count; i = cursor++) {
      const user = users[i % users.length];
      const sent = performance.now();
      const { status, json } = await send(agent, base, { method: 'POST', path: '/webauthn/signin/options' }, true);
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 200) {
        errors++;
        continue;
      }
      const body = JSON.stringify({ challengeId: json.challengeId, response: user.authenticator.assert(json.publicKey.challenge, user.id) });
      prepared.push({ method: 'POST', path: '/webauthn/signin/verify', headers: { 'Content-Type': 'application/json' }, body });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  agent.destroy();
  const options = { requests: latencies.length, errors, statuses, seconds: (performance.now() - t0) / 1000, latencies, exhausted: false, cpuSeconds: cpuSeconds(pids) - cpuBefore };
  return { prepared, options };
}

async function main({ micro = true } = {}) {
  await freshState();
  const seed = await microAndSeed({ micro });
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

  let passkeyCursor = 0;
  const passkeyUsers = (count) => {
    const users = seed.passkey.slice(passkeyCursor, passkeyCursor + count);
    passkeyCursor += count;
    return users;
  };

  const runs = { otp: [], me: [], refresh: [], passkey: [], passkeyOptions: [], signin: [], signinOptions: [], oidc: [], oidcCodes: [], read: [], readUpdate: [] };
  /** The provider sessions' cookies (a sign-in each, once: the sessions outlive the app process). */
  let oidcCookies = null;
  const want = (route) => E2E_ROUTES.includes(route);
  const phase = (worker, next, durationMs = PHASE_MS, maxRequests = 100_000) =>
    load(worker.base, { connections: CONNECTIONS, durationMs, maxRequests, next, pids: worker.pids });
  const measured = (worker, label, next) => (PROFILE ? profiled(worker, label, () => phase(worker, next)) : phase(worker, next));

  const appRound = async (last) => {
    const app = await start('app', 'bench/app.toml', '/health');
    try {
      await phase(app, meRequest, 1000); // warm up
      if (want('otp')) {
        await phase(app, otpRequest, 500);
        log('app: /otp-verify, 50 connections');
        runs.otp.push(await measured(app, 'otp', otpRequest));
      }
      if (want('me')) {
        log('app: /me, 50 connections');
        runs.me.push(await measured(app, 'me', meRequest));
      }
      if (want('refresh')) {
        await phase(app, refreshRequest, 500);
        log('app: /refresh, 50 connections');
        runs.refresh.push(await measured(app, 'refresh', refreshRequest));
      }
      if (want('passkey')) {
        log(`app: ${PASSKEY_USERS_PER_ROUND} x POST /webauthn/login/options (a challenge each), 50 connections`);
        const { prepared, options } = await preparePasskeyLogins(app, passkeyUsers(PASSKEY_USERS_PER_ROUND));
        runs.passkeyOptions.push(options);
        let cursor = 0;
        const verifyRequest = () => prepared[cursor++] ?? null;
        await phase(app, verifyRequest, 500);
        log('app: /webauthn/login/verify, 50 connections');
        runs.passkey.push(await measured(app, 'passkey', verifyRequest));
      }
      if (want('signin')) {
        log(`app: ${SIGNINS_PER_ROUND} x POST /webauthn/signin/options, 50 connections`);
        const { prepared, options } = await prepareSignins(app, seed.passkey, SIGNINS_PER_ROUND);
        runs.signinOptions.push(options);
        let cursor = 0;
        const signinRequest = () => prepared[cursor++] ?? null;
        await phase(app, signinRequest, 500);
        log('app: /webauthn/signin/verify, 50 connections');
        runs.signin.push(await measured(app, 'signin', signinRequest));
      }
      if (want('oidc')) {
        const client = await registerClient(app.base);
        if (!oidcCookies) {
          log(`app: ${seed.oidc.length} hosted sign-ins (password + TOTP), one provider session each`);
          oidcCookies = [];
          for (const user of seed.oidc) oidcCookies.push(await oidcSignIn(app.base, client, user, PASSWORD));
        }
        log(`app: ${CODES_PER_ROUND} x GET /authorize on a provider session (a code each), 50 connections`);
        const { prepared, options } = await prepareCodes(app, client, oidcCookies, CODES_PER_ROUND);
        runs.oidcCodes.push(options);
        let cursor = 0;
        const tokenRequest = () => prepared[cursor++] ?? null;
        await phase(app, tokenRequest, 500);
        log('app: POST /token (authorization_code), 50 connections');
        runs.oidc.push(await measured(app, 'oidc', tokenRequest));
      }
      if (last && !ONLY) await appExtras(app, meRequest, loginRequest);
    } finally {
      await stop(app);
    }
  };
  const baselineRound = async () => {
    const baseline = await start('baseline', 'bench/baseline.toml', '/read');
    try {
      await phase(baseline, readRequest, 1000); // warm up
      log('baseline: read, 50 connections');
      runs.read.push(await phase(baseline, readRequest));
      log('baseline: read + update, 50 connections');
      runs.readUpdate.push(await phase(baseline, readUpdateRequest));
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
  results.e2e = Object.fromEntries(Object.entries(runs).filter(([, list]) => list.length > 0).map(([route, list]) => [route, summarize(list)]));
  if (ONLY) return;

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
  // Last: the shard curve (about 8 minutes), which writes its own section and bench/shards.svg.
  log('journeys per second against the number of D1 shards (bench/shards.mjs)');
  await (await import('./shards.mjs')).shardsStep();
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

if (ONLY) {
  // One step alone: `rows` (a few seconds, no load generated; with the storage
  // figures), `shards` (bench/shards.mjs, minutes), `micro` (the in-workerd
  // loops; `--micro verify` for some) or `e2e` (seeding and the end-to-end rounds;
  // `--routes refresh,passkey` for some). micro and e2e print their ratios and write
  // bench/out/results-<step>.json; none of them touches BENCHMARKS.md.
  try {
    if (ONLY === 'rows') await rowsAndStorageStep();
    else if (ONLY === 'shards') await (await import('./shards.mjs')).shardsStep();
    else if (ONLY === 'micro') {
      await freshState();
      const micro = await start('micro', 'bench/micro.toml', '/totp?impl=ours&n=1');
      try {
        await runMicro(micro.base);
      } finally {
        await stop(micro);
      }
    } else if (ONLY === 'e2e') await main({ micro: false });
    else {
      console.error(`bench: --only takes rows, shards, micro or e2e, not ${JSON.stringify(ONLY)}`);
      process.exit(2);
    }
    if (ONLY === 'micro' || ONLY === 'e2e') {
      results.loadBefore = loadBefore;
      results.loadAfter = os.loadavg();
      writeFileSync(`${outDir}results-${ONLY}.json`, JSON.stringify(results, (key, value) => (key === 'latencies' ? undefined : value), 2));
      printTargets(results);
      log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} at the start, ${results.loadAfter.map((x) => x.toFixed(2)).join(' ')} at the end`);
    }
  } catch (error) {
    console.error('bench: could not measure:', error);
    await cleanup();
    process.exit(1);
  }
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
