// Turns bench/run.mjs results into the printed table, BENCHMARKS.md and bench/chart.svg.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { root } from './lib.mjs';
import { BUNDLE_BUDGET_KIB } from './budget.mjs';

const f = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const ops = (msPerOp) => 1000 / msPerOp;

/** Every compared figure, with its target; `better` says which way a ratio should go. */
function targets(results) {
  const { micro, e2e, fairness, memory, bundle } = results;
  const rows = [];
  const add = (name, value, target, better, unit = '×', note = '') =>
    rows.push({ name, value, target, better, unit, note, met: target === null || !Number.isFinite(value) ? null : better === 'higher' ? value >= target : value <= target });
  if (micro.totp) {
    add('TOTP verify: ours vs otplib', micro.totp.otplib.msPerOp / micro.totp.ours.msPerOp, 4, 'higher');
    add('TOTP verify: ours vs createHmac', micro.totp.hmac.msPerOp / micro.totp.ours.msPerOp, 1.3, 'higher');
  }
  if (micro.jwt) add('token sign+verify: ours vs jose', micro.jwt.jose.msPerOp / micro.jwt.ours.msPerOp, null, 'higher');
  if (micro.verify) add('access token verify: Ed25519 vs HS256', micro.verify.eddsa.msPerOp / micro.verify.hs256.msPerOp, 3, 'lower');
  if (micro.scrypt) add('scrypt time: noble vs native', micro.scrypt.noble.msPerOp / micro.scrypt.native.msPerOp, 2, 'lower');
  if (fairness) add('/me p99: 4 logins hashing vs idle', fairness.busy.p99 / fairness.idle.p99, 2, 'lower');
  if (memory?.samples.length > 2) {
    const s = memory.samples;
    const mid = s[Math.floor(s.length / 2)].rssMiB;
    const last = s[s.length - 1].rssMiB;
    add('RSS growth, 2nd half of logins', ((last - mid) / mid) * 100, 5, 'lower', '%', `${f(s[0].rssMiB)} → ${f(mid)} → ${f(last)} MiB`);
  }
  if (e2e.readUpdate) {
    if (e2e.otp) add('/otp-verify vs read+update baseline', e2e.otp.rps / e2e.readUpdate.rps, 0.8, 'higher');
    if (e2e.me) add('/me vs read baseline', e2e.me.rps / e2e.read.rps, 0.9, 'higher');
    if (e2e.refresh) add('/refresh vs read+update baseline', e2e.refresh.rps / e2e.readUpdate.rps, 0.8, 'higher');
    // The verify request alone; its challenge (POST /webauthn/login/options) was fetched before the phase.
    if (e2e.passkey) add('/webauthn/login/verify vs read+update baseline', e2e.passkey.rps / e2e.readUpdate.rps, 0.6, 'higher');
    // Issue 21: the passwordless sign-in, its challenge fetched before the phase, as above.
    if (e2e.signin) add('/webauthn/signin/verify vs read+update baseline', e2e.signin.rps / e2e.readUpdate.rps, 0.6, 'higher');
    // Issue 19: the code exchange, its codes issued (GET /authorize on a provider session) before the phase.
    if (e2e.oidc) add('/token (authorization_code) vs read+update baseline', e2e.oidc.rps / e2e.readUpdate.rps, 0.8, 'higher');
    const errors = Object.values(e2e).reduce((sum, run) => sum + run.errors, 0);
    add('end-to-end errors', errors, 0, 'lower', '');
  }
  if (bundle) add('bundle, gzipped', bundle.app.gzipKiB, BUNDLE_BUDGET_KIB, 'lower', ' KiB', `bare Hono ${f(bundle.bare.gzipKiB, 1)} KiB`);
  return rows;
}

const mark = (met) => (met === null ? '—' : met ? 'met' : 'MISSED');
const targetText = (row) => (row.target === null ? 'none' : `${row.better === 'higher' ? '≥' : '≤'} ${row.target}${row.unit}`);
const valueText = (row) => `${f(row.value, row.unit === '×' ? 2 : 1)}${row.unit}`;

function machine() {
  // wrangler serves with its own workerd when it pins a newer one than the top-level package.
  let workerd = 'unknown';
  for (const path of ['node_modules/wrangler/node_modules/workerd/package.json', 'node_modules/workerd/package.json']) {
    if (workerd === 'unknown' && existsSync(`${root}${path}`)) workerd = JSON.parse(readFileSync(`${root}${path}`, 'utf8')).version;
  }
  let wrangler = 'unknown';
  try {
    wrangler = JSON.parse(readFileSync(`${root}node_modules/wrangler/package.json`, 'utf8')).version;
  } catch {}
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  } catch {}
  return { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memGiB: os.totalmem() / 2 ** 30, node: process.version, workerd, wrangler, commit, os: `${os.type()} ${os.release()}` };
}

/** Horizontal bars: each comparison scaled so its target sits on one line. */
function chart(rows) {
  const shown = rows.filter((row) => row.target !== null && row.target !== 0 && Number.isFinite(row.value));
  const width = 1000; // room for the longest value label and the subtitle
  const left = 300;
  const barMax = 360;
  const rowHeight = 34;
  const top = 56;
  const height = top + shown.length * rowHeight + 40;
  const scaleMax = 3; // a bar at 3× its target fills the track
  const targetX = left + barMax / scaleMax;
  const esc = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const bars = shown
    .map((row, i) => {
      // Score > 1 means better than the target, whichever way the metric goes.
      const score = row.better === 'higher' ? row.value / row.target : row.target / Math.max(row.value, 1e-9);
      const w = Math.max(2, Math.min(scaleMax, score) * (barMax / scaleMax));
      const y = top + i * rowHeight;
      const color = row.met ? '#2f855a' : '#c53030';
      return [
        `<text x="${left - 10}" y="${y + 17}" text-anchor="end" class="l">${esc(row.name)}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="18" rx="3" fill="${color}"/>`,
        `<text x="${left + w + 6}" y="${y + 17}" class="v">${esc(valueText(row))} (target ${esc(targetText(row))})</text>`,
      ].join('');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.l{font-size:13px;fill:#1a202c}.v{font-size:12px;fill:#2d3748}.t{font-size:15px;font-weight:600;fill:#1a202c}.s{font-size:11px;fill:#4a5568}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="24" class="t">edge-mfa: npm run bench, each figure against its target</text>
<text x="20" y="42" class="s">Bar length = how far past the target (the dashed line); green = target met, red = missed. Ratios from interleaved runs inside workerd.</text>
<line x1="${targetX}" y1="${top - 4}" x2="${targetX}" y2="${top + shown.length * rowHeight}" stroke="#1a202c" stroke-dasharray="4 3"/>
<text x="${targetX}" y="${top + shown.length * rowHeight + 16}" text-anchor="middle" class="s">target</text>
${bars}
</svg>
`;
}

function tables(results) {
  const rows = targets(results);
  const { micro, e2e, login } = results;

  const summary = ['| comparison | measured | target | |', '| --- | --- | --- | --- |'];
  for (const row of rows) summary.push(`| ${row.name} | ${valueText(row)}${row.note ? ` (${row.note})` : ''} | ${targetText(row)} | ${mark(row.met)} |`);

  const microTable = ['| benchmark | contender | ops/s | µs per op |', '| --- | --- | ---: | ---: |'];
  const label = { ours: 'ours (CryptoKey reused)', 'ours-import': 'ours, key imported per verify', otplib: 'otplib 13 verify', hmac: 'node:crypto createHmac', eddsa: 'access token, Ed25519 (verifyAccessToken, key cached)', hs256: 'password-only token, HS256 (jose, key cached)', 'eddsa-jose': 'for reference: jose jwtVerify alone, Ed25519, key cached', 'ed25519-raw': 'for reference: crypto.subtle.verify alone, Ed25519', jose: 'jose, raw secret each call', noble: '@noble/hashes scryptAsync', native: 'node:crypto scrypt' };
  for (const [bench, title] of [['totp', 'TOTP verify ±1 step'], ['jwt', 'token sign + verify'], ['verify', 'token verify'], ['scrypt', 'scrypt N=2^14 r=8 p=5']]) {
    for (const [impl, value] of Object.entries(micro[bench] ?? {})) {
      const name = bench === 'jwt' && impl === 'ours' ? 'ours (key imported once)' : label[impl];
      microTable.push(`| ${title} | ${name} | ${f(ops(value.msPerOp), bench === 'scrypt' ? 1 : 0)} | ${f(value.msPerOp * 1000, bench === 'scrypt' ? 0 : 1)} |`);
    }
  }

  const e2eTable = ['| route | worker | req/s | p50 ms | p99 ms | CPU ms/req | requests | non-200 |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  const e2eRow = (route, worker, s) =>
    s && e2eTable.push(`| ${route} | ${worker} | ${f(s.rps)} | ${f(s.p50, 1)} | ${f(s.p99, 1)} | ${f(s.cpuMsPerRequest, 2)} | ${s.requests} | ${s.errors}${s.errors ? ` ${JSON.stringify(s.statuses)}` : ''} |`);
  e2eRow('POST /otp-verify', 'app', e2e.otp);
  e2eRow('GET /me', 'app', e2e.me);
  e2eRow('POST /refresh', 'app', e2e.refresh);
  e2eRow('POST /webauthn/login/options (before the verify phase)', 'app', e2e.passkeyOptions);
  e2eRow('POST /webauthn/login/verify (ES256 passkey)', 'app', e2e.passkey);
  e2eRow('POST /webauthn/signin/options (before the verify phase)', 'app', e2e.signinOptions);
  e2eRow('POST /webauthn/signin/verify (ES256 discoverable passkey, UV)', 'app', e2e.signin);
  e2eRow('GET /authorize on a provider session (codes, before the /token phase)', 'app', e2e.oidcCodes);
  e2eRow('POST /token (authorization_code, PKCE, client_secret_basic)', 'app', e2e.oidc);
  e2eRow('POST /login', 'app', login);
  e2eRow('GET /read (1 D1 read)', 'baseline', e2e.read);
  e2eRow('POST /read-update (read + update)', 'baseline', e2e.readUpdate);

  console.log('\n' + summary.join('\n') + '\n\n' + microTable.join('\n') + '\n\n' + e2eTable.join('\n') + '\n');
  return { rows, summary, microTable, e2eTable };
}

/** Prints the targets and tables of a partial run (`--only micro|e2e`) without writing any file. */
export function printTargets(results) {
  tables({ micro: {}, e2e: {}, ...results });
}

export function writeReport(results) {
  const { rows, summary, microTable, e2eTable } = tables(results);
  const m = machine();
  const { micro, e2e, fairness, memory, bundle, login } = results;
  const lines = [];
  const p = (text = '') => lines.push(text);

  p('# Benchmarks');
  p();
  p('Generated by `npm run bench` (`bench/run.mjs`); do not edit by hand. Notes and fixes are in');
  p('[bench/findings.md](bench/findings.md), included at the end.');
  p();
  p('![each figure against its target](bench/chart.svg)');
  p();
  p('## Targets');
  p();
  summary.forEach((line) => p(line));
  p();
  p('## Method');
  p();
  p('- **Inside workerd, not Node.** WebCrypto HMAC in Node is many times slower than in workerd, so');
  p('  micro-benchmarks run in a bench worker (`bench/micro/worker.ts`, `bench/micro.toml`, with');
  p('  `nodejs_compat` for the node:crypto contenders only) served by `wrangler dev`. Each HTTP call runs');
  p('  one loop of one contender and times it with `performance.now()`; the driver calls the contenders');
  p(`  in a fresh random order in each of ${results.quick ? 3 : 7} rounds (scrypt: ${results.quick ? 2 : 5}) after a warm-up and reports`);
  p('  medians, so drift on a shared machine hits all contenders alike. TOTP verifies a code for the last');
  p('  step of the ±1 window, so every contender computes three HMACs.');
  p('- **End to end** through `wrangler dev` on 127.0.0.1 with 50 keep-alive connections, closed loop');
  p(`  (${results.quick ? 3 : 5} s per phase, ${results.quick ? 1 : 2} round(s)). The app runs from \`bench/app.toml\`: \`src/index.ts\` as`);
  p('  deployed, except that the per-IP flood filter allows a load test from one address. The baseline');
  p('  (`bench/baseline/worker.ts`) is a framework-free worker with one route doing a single D1 read and');
  p('  one doing that read plus an update. Both run, one after the other (never both at once: one local');
  p('  D1 is one SQLite file), on the same local D1 in `bench/out/state`, alternating which goes first.');
  p('- **Valid codes under load.** A code is good once per user and step, a success retires the');
  p('  password-only session, and each account has a failure throttle; so the harness seeds thousands of');
  p('  enrolled users, each with a password-only session and token, through the bench worker using the');
  p('  app\'s own `createSecret` (AES-GCM sealed secret) and `signToken`, exactly the rows and token');
  p('  `/login` + `/create-otp` + enrollment would leave. Each `/otp-verify` uses a fresh user, with the');
  p('  code computed from that user\'s secret at send time. (A `/login` per token would cost a scrypt each.)');
  p('- **Passkeys**: each `/webauthn/login/verify` spends a password-only session and a challenge, so the');
  p('  harness seeds accounts with an ES256 passkey whose private key only the driver holds');
  p('  (`bench/authenticator.mjs`), fetches a fresh challenge per account from `/webauthn/login/options`');
  p('  (50 connections, reported as its own row) before the phase, signs the assertion, and times the');
  p('  verify requests alone against the read+update baseline (see bench/findings.md for why).');
  p('- **CPU ms/req**: user + system CPU of the serving processes (wrangler\'s node and workerd, from /proc)');
  p('  per request in the phase: steadier than req/s when other work shares the machine.');
  p('- **Fairness**: 200 sequential `/me` calls idle, then up to 200 while four clients log in back to');
  p('  back (so four scrypt hashes are always in flight); p99 of each. **Memory**: the workerd process\'s');
  p(`  RSS from /proc every 10 logins over ${memory?.logins ?? 300} sequential logins; "levels off" = under 5% growth over the second half.`);
  p('- **Bundle**: `wrangler deploy --dry-run --outdir` with the production `wrangler.toml`, and with a');
  p('  bare Hono worker (`bench/bare-hono`); the .js output gzipped at level 9.');
  p();
  p('## Machine');
  p();
  p(`${m.cpu}, ${m.cores} cores, ${f(m.memGiB, 1)} GiB, ${m.os}; Node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}; commit ${m.commit}.`);
  p(`Load average ${results.loadBefore.map((x) => f(x, 1)).join(' ')} at the start and ${results.loadAfter.map((x) => f(x, 1)).join(' ')} at the end`);
  p(`(the machine is shared, so absolute figures drift; the ratios are what the targets judge). Run took ${f(results.seconds)} s.`);
  p();
  p('## Inside workerd');
  p();
  microTable.forEach((line) => p(line));
  p();
  if (fairness) {
    p(`Fairness: \`/me\` idle p50 ${f(fairness.idle.p50, 1)} ms, p99 ${f(fairness.idle.p99, 1)} ms (n=${fairness.idle.n});`);
    p(`with 4 logins hashing p50 ${f(fairness.busy.p50, 1)} ms, p99 ${f(fairness.busy.p99, 1)} ms (n=${fairness.busy.n}); ${fairness.logins} logins meanwhile, ${fairness.loginErrors + fairness.idle.errors + fairness.busy.errors} non-200.`);
    p();
  }
  if (memory) {
    p(`Memory: workerd RSS over ${memory.logins} sequential logins (${memory.errors} non-200):`);
    p();
    p('| logins | ' + memory.samples.filter((_, i) => i % 3 === 0).map((s) => s.logins).join(' | ') + ' |');
    p('| --- | ' + memory.samples.filter((_, i) => i % 3 === 0).map(() => '---:').join(' | ') + ' |');
    p('| RSS MiB | ' + memory.samples.filter((_, i) => i % 3 === 0).map((s) => f(s.rssMiB)).join(' | ') + ' |');
    p();
  }
  p('## End to end (wrangler dev, loopback, 50 connections)');
  p();
  e2eTable.forEach((line) => p(line));
  p();
  if (results.loginRssMiB) p(`workerd RSS after the /login run: ${f(results.loginRssMiB)} MiB.`);
  p();
  if (bundle) {
    p('## Bundle');
    p();
    p('| worker | raw KiB | gzip KiB |');
    p('| --- | ---: | ---: |');
    p(`| edge-mfa (wrangler.toml) | ${f(bundle.app.rawKiB, 1)} | ${f(bundle.app.gzipKiB, 1)} |`);
    p(`| bare Hono | ${f(bundle.bare.rawKiB, 1)} | ${f(bundle.bare.gzipKiB, 1)} |`);
    p();
  }
  p('## Rerun');
  p();
  p('```sh');
  p('npm ci');
  p('npm run bench            # about 20 minutes on 2 cores (half of it the shard curve); --quick for a short smoke run');
  p('```');
  p();
  p('It needs nothing beyond `npm ci`: wrangler serves every worker locally, nothing leaves 127.0.0.1,');
  p('and scratch files (local D1, logs, dry-run bundles, `results.json`) go to `bench/out/` (git-ignored).');
  p('It exits non-zero only when it could not measure; a missed target is printed, not fatal.');
  p();
  const findings = `${root}bench/findings.md`;
  if (existsSync(findings)) {
    p(readFileSync(findings, 'utf8').trim());
    p();
  }
  if (!results.quick) {
    // Sections other steps write between markers (rows, storage, shards) survive the rewrite.
    const previous = existsSync(`${root}BENCHMARKS.md`) ? readFileSync(`${root}BENCHMARKS.md`, 'utf8') : '';
    for (const [section] of previous.matchAll(/<!-- (\w+):start -->[\s\S]*?<!-- \1:end -->/g)) lines.push(section, '');
    writeFileSync(`${root}BENCHMARKS.md`, lines.join('\n'));
    writeFileSync(`${root}bench/chart.svg`, chart(rows));
    console.log('wrote BENCHMARKS.md and bench/chart.svg');
  } else {
    writeFileSync(`${root}bench/out/BENCHMARKS.quick.md`, lines.join('\n'));
    writeFileSync(`${root}bench/out/chart.quick.svg`, chart(rows));
    console.log('quick run: wrote bench/out/BENCHMARKS.quick.md and bench/out/chart.quick.svg');
  }
}
