// `npm run bench -- --only shards`: journeys per second and p99 against the
// number of D1 shards (SHARD_COUNT = 1, 2, 4, 8), each shard a local D1 behind
// bench/shards/serial-d1.ts (one statement at a time, a fixed service time per
// statement, D1's overload error past a queue bound). Full journeys
// (/login + /otp-verify with a real TOTP code) from a closed loop of clients,
// then an overload phase past the queue bound. Writes bench/out/shards.json,
// bench/shards.svg and the "Shards" section of BENCHMARKS.md (between its
// markers, so the rest of the file is untouched).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { outDir, percentile, root, runWrangler, sleep, startWorker, totpNow } from './lib.mjs';

const START = '<!-- shards:start -->';
const END = '<!-- shards:end -->';
const PASSWORD = 'correct horse battery staple';
const CONFIG = 'bench/shards.toml';
const BINDINGS = ['DB', ...Array.from({ length: 7 }, (_, i) => `DB_SHARD_${i + 1}`)];
const STEP_MS = 30_000;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const QUICK = process.argv.includes('--quick');
export const SETTINGS = {
  counts: arg('counts', '1,2,4,8').split(',').map(Number),
  /**
   * Simulated service time per statement, ms. Real D1: about 1 ms (1,000
   * queries a second). Scaled up so that the shards, not this machine's CPU
   * (2 cores shared with other work, one workerd thread), limit the journey
   * rate; figures are reported as measured and as D1-equivalent (x serviceMs).
   */
  serviceMs: Number(arg('service-ms', '40')),
  d1ServiceMs: 1,
  /** Requests waiting or in service per shard before D1's overload error. */
  queueBound: Number(arg('queue-bound', '16')),
  /** Closed-loop clients per shard in use; each sticks to its shard's accounts. */
  clientsPerShard: Number(arg('clients-per-shard', '4')),
  warmMs: Number(arg('warm-ms', QUICK ? '2000' : '4000')),
  /** A phase lasts at least phaseMs, longer (up to maxPhaseMs) until about minJourneys are expected. */
  phaseMs: Number(arg('phase-ms', QUICK ? '8000' : '20000')),
  maxPhaseMs: Number(arg('max-phase-ms', QUICK ? '20000' : '60000')),
  minJourneys: Number(arg('min-journeys', QUICK ? '40' : '120')),
  /** Statements of one journey (bench/rows.mjs counts them exactly); sizes phases and account pools only. */
  statementsPerJourney: 14,
  overloadMs: Number(arg('overload-ms', QUICK ? '5000' : '8000')),
  /** The shard counts with an overload phase, driven with this many times the queue bound per shard. */
  overloadAt: arg('overload-at', '1,4').split(',').map(Number),
  overloadFactor: 3,
  seedConcurrency: 16,
};

const log = (...args) => console.log(`[shards ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** One request; status, parsed JSON, Retry-After and the isolate stamp. */
function request(agent, base, { method = 'POST', path, token, json }) {
  const url = new URL(path, base);
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const body = json === undefined ? undefined : JSON.stringify(json);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers, agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        let parsed;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {}
        resolve({
          status: response.statusCode,
          json: parsed,
          retryAfter: response.headers['retry-after'] ?? null,
          isolate: response.headers['x-bench-isolate'] ?? null,
        });
      });
      response.on('error', () => resolve({ status: 0 }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

async function control(base, path, json) {
  const response = await fetch(base + path, json === undefined ? {} : { method: 'POST', body: JSON.stringify(json), headers: { 'Content-Type': 'application/json' } });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const stepNow = () => Math.floor(Date.now() / STEP_MS);

/** Registers and enrolls one account through the app, as a person would. */
async function enroll(agent, base, username) {
  const must = (label, r, status) => {
    if (r.status !== status) throw new Error(`seeding ${label}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  must('register', await request(agent, base, { path: '/register', json: { username, password: PASSWORD } }), 201);
  const login = must('login', await request(agent, base, { path: '/login', json: { username, password: PASSWORD } }), 200);
  const created = must('create-otp', await request(agent, base, { path: '/create-otp', token: login.token }), 201);
  const step = stepNow();
  must('otp-verify', await request(agent, base, { path: '/otp-verify', token: login.token, json: { code: totpNow(created.secret, step * STEP_MS) } }), 200);
  return { username, secret: created.secret, lastStep: step, busy: false };
}

async function seed(base, prefix, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SETTINGS.seedConcurrency });
  const accounts = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SETTINGS.seedConcurrency }, async () => {
      while (next < count) {
        const i = next++;
        accounts.push(await enroll(agent, base, `${prefix}-${i}`));
      }
    }),
  );
  agent.destroy();
  return accounts;
}

/**
 * One shard's accounts, handed out round-robin. Replay protection (RFC 6238
 * §5.2) lets a code's step be spent once per account, and the app accepts the
 * next step's code (±1 window), so an account can take a journey with step
 * cur + 1 whenever its last spent step is at most cur: once per 30 s each.
 */
function pool(accounts) {
  let cursor = 0;
  return () => {
    const cur = stepNow();
    for (let scanned = 0; scanned < accounts.length; scanned++) {
      const account = accounts[cursor];
      cursor = (cursor + 1) % accounts.length;
      if (!account.busy && account.lastStep <= cur) {
        account.busy = true;
        return { account, step: cur + 1 };
      }
    }
    return null;
  };
}

function tally() {
  return { journeys: 0, ok: 0, okAll: 0, latencies: [], statuses: {}, s2xx: 0, s503: 0, s503NoRetryAfter: 0, other5xx: 0, s4xx: 0, network: 0, starved: 0, isolates: new Set() };
}

function count(t, r) {
  t.statuses[r.status] = (t.statuses[r.status] ?? 0) + 1;
  if (r.isolate) t.isolates.add(r.isolate);
  if (r.status >= 200 && r.status < 300) t.s2xx++;
  else if (r.status === 503) {
    t.s503++;
    if (!r.retryAfter || !(Number(r.retryAfter) >= 1)) t.s503NoRetryAfter++;
  } else if (r.status >= 500) t.other5xx++;
  else if (r.status >= 400) t.s4xx++;
  else t.network++;
}

/** Closed loop: each client starts its next journey when the last one ends. */
async function drive(base, pools, { connections, durationMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const t = tally();
  const start = performance.now();
  const deadline = start + durationMs;
  // Client i keeps to shard i mod (shards in use): a small closed loop then
  // never leaves a shard idle by chance, and each shard sees the same load.
  const client = async (i) => {
    const take = pools[i % pools.length];
    while (performance.now() < deadline) {
      const lease = take();
      if (!lease) {
        t.starved++;
        await sleep(50);
        continue;
      }
      const { account, step } = lease;
      const t0 = performance.now();
      const login = await request(agent, base, { path: '/login', json: { username: account.username, password: PASSWORD } });
      let verify = null;
      if (login.status === 200) {
        verify = await request(agent, base, { path: '/otp-verify', token: login.json.token, json: { code: totpNow(account.secret, step * STEP_MS) } });
        // Spent whatever the answer: the step may have been reserved before a failure.
        account.lastStep = step;
      }
      account.busy = false;
      const t1 = performance.now();
      // Every answer counts in the status tally; only journeys that end within the phase count as throughput.
      count(t, login);
      if (verify) count(t, verify);
      if (verify?.status === 200) t.okAll++;
      if (t1 > deadline) break;
      t.journeys++;
      if (verify?.status === 200) {
        t.ok++;
        t.latencies.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => client(i)));
  agent.destroy();
  const seconds = durationMs / 1000;
  return {
    seconds,
    journeys: t.journeys,
    ok: t.ok,
    /** Successful journeys including those that ended in the drain after the phase (the stats cover both). */
    okAll: t.okAll,
    journeysPerSecond: t.ok / seconds,
    p50: percentile(t.latencies, 50),
    p99: percentile(t.latencies, 99),
    statuses: t.statuses,
    s2xx: t.s2xx,
    s503: t.s503,
    s503NoRetryAfter: t.s503NoRetryAfter,
    other5xx: t.other5xx,
    s4xx: t.s4xx,
    network: t.network,
    starved: t.starved,
    isolates: [...t.isolates],
  };
}

/** Fresh, migrated copies of all eight databases, made once and copied per run. */
async function template() {
  const dir = `${outDir}shards-template`;
  // Kept between runs while migrations/ is unchanged: eight applies take minutes here.
  const stamp = JSON.stringify(readdirSync(`${root}migrations`, { recursive: true }).sort().map((f) => [f, statSync(`${root}migrations/${f}`).size]));
  if (existsSync(`${dir}/stamp.json`) && readFileSync(`${dir}/stamp.json`, 'utf8') === stamp) return dir;
  rmSync(dir, { recursive: true, force: true });
  for (const binding of BINDINGS) {
    log(`migrating ${binding}`);
    await runWrangler(['d1', 'migrations', 'apply', binding, '--local', '--persist-to', dir, '-c', CONFIG]);
  }
  writeFileSync(`${dir}/stamp.json`, stamp);
  return dir;
}

function utilisation(stats, wallMs) {
  return Object.fromEntries(Object.entries(stats.shards).map(([name, s]) => [name, { ...s, utilisation: s.busyMs / wallMs }]));
}

async function runCount(templateDir, n) {
  const state = `${outDir}shards-state-${n}`;
  rmSync(state, { recursive: true, force: true });
  cpSync(templateDir, state, { recursive: true });
  const vars = { JWT_SECRET: randomBytes(32).toString('hex'), TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex'), SHARD_COUNT: String(n) };
  const worker = await startWorker(`shards-${n}`, CONFIG, { vars, readyPath: '/health', persistTo: state });
  try {
    const model = { serviceMs: SETTINGS.serviceMs, queueBound: SETTINGS.queueBound };
    const connections = SETTINGS.clientsPerShard * n;
    // What n saturated shards serve; sizes the phase and the account pool, nothing measured.
    const expectedPerSecond = (n * 1000) / (SETTINGS.serviceMs * SETTINGS.statementsPerJourney);
    const phaseMs = Math.min(SETTINGS.maxPhaseMs, Math.max(SETTINGS.phaseMs, (SETTINGS.minJourneys / expectedPerSecond) * 1000));
    // Each account serves one journey per 30 s step (see pool()), so 30 s of journeys, with room.
    const accountsNeeded = Number(arg('accounts', '0')) || Math.ceil(expectedPerSecond * 35 * 1.3) + connections * 3;
    await control(worker.base, '/__shards/model', { serviceMs: 0, queueBound: 1_000_000 });
    log(`N=${n}: registering and enrolling ${accountsNeeded} accounts through the app (no service time while seeding)`);
    const accounts = await seed(worker.base, `s${n}x${Date.now().toString(36)}`, accountsNeeded);
    const { usernames } = await control(worker.base, '/__shards/users');
    const users = Object.fromEntries(Object.entries(usernames).map(([binding, list]) => [binding, list.length]));
    log(`N=${n}: users per database ${JSON.stringify(users)}`);
    const byUsername = new Map(accounts.map((a) => [a.username, a]));
    const pools = Object.values(usernames)
      .map((list) => list.map((u) => byUsername.get(u)).filter(Boolean))
      .filter((list) => list.length > 0)
      .map(pool);
    await control(worker.base, '/__shards/model', model);
    await drive(worker.base, pools, { connections, durationMs: SETTINGS.warmMs });
    await control(worker.base, '/__shards/model', model); // resets the stats
    // Utilisation over the whole window the stats cover: the phase and its drain.
    let since = performance.now();
    log(`N=${n}: ${connections} clients, closed loop, ${(phaseMs / 1000).toFixed(0)} s`);
    const measured = await drive(worker.base, pools, { connections, durationMs: phaseMs });
    const stats = await control(worker.base, '/__shards/stats');
    measured.connections = connections;
    measured.shards = utilisation(stats, performance.now() - since);
    log(`N=${n}: ${measured.journeysPerSecond.toFixed(2)} journeys/s, p50 ${measured.p50?.toFixed(0)} ms, p99 ${measured.p99?.toFixed(0)} ms, 2xx ${measured.s2xx}, 503 ${measured.s503}, other 5xx ${measured.other5xx}, 4xx ${measured.s4xx}, starved ${measured.starved}`);
    log(`N=${n}: shard utilisation ${Object.entries(measured.shards).filter(([, s]) => s.requests > 0).map(([b, s]) => `${b} ${(100 * s.utilisation).toFixed(0)}%`).join(', ')}`);
    let overload = null;
    if (SETTINGS.overloadAt.includes(n)) {
      const overloadConnections = SETTINGS.overloadFactor * SETTINGS.queueBound * pools.length;
      await control(worker.base, '/__shards/model', model);
      since = performance.now();
      log(`N=${n}: overload, ${overloadConnections} clients (${SETTINGS.overloadFactor}x the queue bound per shard in use), ${SETTINGS.overloadMs / 1000} s`);
      overload = await drive(worker.base, pools, { connections: overloadConnections, durationMs: SETTINGS.overloadMs });
      overload.connections = overloadConnections;
      overload.shards = utilisation(await control(worker.base, '/__shards/stats'), performance.now() - since);
      log(`N=${n}: overload: ${overload.journeysPerSecond.toFixed(2)} journeys/s, 2xx ${overload.s2xx}, 503 ${overload.s503} (${overload.s503NoRetryAfter} without Retry-After), other 5xx ${overload.other5xx}, 4xx ${overload.s4xx} ${JSON.stringify(overload.statuses)}`);
    }
    return { n, shardsInUse: pools.length, accounts: accounts.length, users, isolate: stats.isolate, phaseMs, measured, overload };
  } finally {
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

export async function shardsStep() {
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const loadBefore = os.loadavg();
  const templateDir = await template();
  const runs = [];
  for (const n of SETTINGS.counts) runs.push(await runCount(templateDir, n));
  const results = { settings: SETTINGS, quick: QUICK, runs, seconds: (Date.now() - started) / 1000, loadBefore, loadAfter: os.loadavg(), at: new Date().toISOString() };
  writeFileSync(`${outDir}shards.json`, JSON.stringify(results, null, 2));
  const { writeShardsReport } = await import('./shards-report.mjs');
  writeShardsReport(results);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) await shardsStep();
