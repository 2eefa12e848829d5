// Turns bench/shards.mjs results (bench/out/shards.json) into the "Shards"
// section of BENCHMARKS.md (between its markers) and bench/shards.svg.
// `node bench/shards-report.mjs` re-renders both from the last run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { outDir, root } from './lib.mjs';

const START = '<!-- shards:start -->';
const END = '<!-- shards:end -->';
export const TARGET_SPEEDUP_AT_4 = 3.5;

const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const ms = (value) => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');

function speedups(results) {
  const one = results.runs.find((r) => r.n === 1)?.measured.journeysPerSecond;
  return Object.fromEntries(results.runs.map((r) => [r.n, one ? r.measured.journeysPerSecond / one : NaN]));
}

function statementsPerJourney(run) {
  const statements = Object.values(run.measured.shards).reduce((sum, s) => sum + s.statements, 0);
  const journeys = run.measured.okAll ?? run.measured.ok;
  return journeys > 0 ? statements / journeys : NaN;
}

/** journeys/s (left axis, bars) and p99 (right axis, line) against N. */
export function shardsChart(results) {
  const runs = results.runs;
  const width = 760;
  const height = 380;
  const left = 70;
  const right = 80;
  const top = 78;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const oneRate = runs.find((r) => r.n === 1)?.measured.journeysPerSecond ?? 0;
  const maxRate = Math.max(...runs.map((r) => Math.max(r.measured.journeysPerSecond, oneRate * r.n)), 0.001) * 1.1;
  const maxP99 = Math.max(...runs.map((r) => r.measured.p99 || 0), 1) * 1.15;
  const slot = plotW / runs.length;
  const barW = Math.min(56, slot * 0.5);
  const yRate = (v) => top + plotH - (Math.min(v, maxRate) / maxRate) * plotH;
  const yP99 = (v) => top + plotH - (v / maxP99) * plotH;
  const cx = (i) => left + slot * i + slot / 2;
  const one = runs.find((r) => r.n === 1)?.measured.journeysPerSecond ?? NaN;
  const parts = [];
  for (let k = 0; k <= 4; k++) {
    const v = (maxRate / 4) * k;
    const y = yRate(v);
    parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + plotW}" y2="${y.toFixed(1)}" stroke="#e2e8f0"/>`);
    parts.push(`<text x="${left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="s">${fixed(v, 1)}</text>`);
    parts.push(`<text x="${left + plotW + 8}" y="${(yP99((maxP99 / 4) * k) + 4).toFixed(1)}" class="s">${Math.round((maxP99 / 4) * k)}</text>`);
  }
  // Ideal: N times the one-shard rate, dashed.
  if (Number.isFinite(one)) {
    const ideal = runs.map((r, i) => `${cx(i).toFixed(1)},${yRate(Math.min(maxRate, one * r.n)).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${ideal}" fill="none" stroke="#718096" stroke-dasharray="5 4"/>`);
    runs.forEach((r, i) => parts.push(`<circle cx="${cx(i).toFixed(1)}" cy="${yRate(one * r.n).toFixed(1)}" r="2.5" fill="#718096"/>`));
  }
  runs.forEach((r, i) => {
    const v = r.measured.journeysPerSecond;
    const y = yRate(v);
    parts.push(`<rect x="${(cx(i) - barW / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y).toFixed(1)}" rx="3" fill="#2b6cb0"/>`);
    const ratio = Number.isFinite(one) ? ` (${fixed(v / one, 2)}×)` : '';
    // Inside the bar when it is tall enough, so the p99 line cannot cover it.
    const inside = top + plotH - y > 24;
    parts.push(`<text x="${cx(i).toFixed(1)}" y="${(inside ? y + 16 : y - 6).toFixed(1)}" text-anchor="middle" class="v"${inside ? ' fill="#ffffff" style="fill:#ffffff"' : ''}>${fixed(v, 2)}</text>`);
    if (ratio) parts.push(`<text x="${cx(i).toFixed(1)}" y="${top + plotH + 34}" text-anchor="middle" class="s">${ratio.trim()}</text>`);
    parts.push(`<text x="${cx(i).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" class="l">N = ${r.n}</text>`);
  });
  const p99Points = runs.map((r, i) => `${cx(i).toFixed(1)},${yP99(r.measured.p99 || 0).toFixed(1)}`).join(' ');
  parts.push(`<polyline points="${p99Points}" fill="none" stroke="#c05621" stroke-width="2"/>`);
  runs.forEach((r, i) => parts.push(`<circle cx="${cx(i).toFixed(1)}" cy="${yP99(r.measured.p99 || 0).toFixed(1)}" r="4" fill="#c05621"/>`));
  const s = results.settings;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.l{font-size:13px;fill:#1a202c}.v{font-size:12px;fill:#2d3748}.t{font-size:15px;font-weight:600;fill:#1a202c}.s{font-size:11px;fill:#4a5568}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="24" class="t">edge-mfa: login journeys per second and p99 against the number of D1 shards</text>
<text x="20" y="42" class="s">Simulated D1: each shard serves one statement at a time, ${esc(s.serviceMs)} ms each (real D1 ≈ ${esc(s.d1ServiceMs)} ms), so multiply by ${esc(s.serviceMs / s.d1ServiceMs)} for D1-equivalent rates.</text>
<text x="20" y="57" class="s">Closed loop, ${esc(s.clientsPerShard)} clients per shard; scrypt replaced by a cheap hash. Dashed grey: N × the one-shard rate (perfect scaling).</text>
<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#1a202c"/>
${parts.join('\n')}
<text x="18" y="${top + plotH / 2}" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle" class="s">journeys/s (bars, measured)</text>
<text x="${width - 14}" y="${top + plotH / 2}" transform="rotate(90 ${width - 14} ${top + plotH / 2})" text-anchor="middle" class="s" fill="#c05621">p99 journey latency, ms (line)</text>
</svg>
`;
}

export function shardsSection(results) {
  const s = results.settings;
  const x = speedups(results);
  const scale = s.serviceMs / s.d1ServiceMs;
  const lines = [
    START,
    '## Shards: journeys per second against the number of D1 shards',
    '',
    '![journeys per second and p99 against N](bench/shards.svg)',
    '',
    `Full login journeys (\`/login\` + \`/otp-verify\` with a real TOTP code) from a closed loop of ${s.clientsPerShard}`,
    'clients per shard, against the production app with SHARD_COUNT = N, each shard a local D1 behind a',
    'queue that models one D1 database. Statements per journey: all statements the shards served over the',
    'phase and its drain, over the successful journeys of both (bench/rows.mjs counts them exactly).',
    'Shard utilisation: simulated busy time over that window; well under 100% means something else (this',
    "machine's CPU) was the limit. Rerun: `npm run bench -- --only shards`",
    `(${results.quick ? 'quick run; ' : ''}${results.at}, ${Math.round(results.seconds)} s, load average ${results.loadBefore.map((v) => v.toFixed(1)).join(' ')} before).`,
    '',
    '| N | accounts per database | journeys/s | × one shard | D1-equivalent journeys/s | p50 | p99 | 2xx | 503 | other 5xx | 4xx | statements/journey | shard utilisation |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results.runs) {
    const m = r.measured;
    const used = Object.entries(m.shards).filter(([, st]) => st.requests > 0);
    const util = used.map(([, st]) => `${Math.round(100 * st.utilisation)}%`).join(' ');
    lines.push(
      `| ${r.n} | ${Object.values(r.users).slice(0, r.n).join(' / ')} | ${fixed(m.journeysPerSecond, 2)} | ${fixed(x[r.n], 2)}× | ${fixed(m.journeysPerSecond * scale, 0)} | ${ms(m.p50)} | ${ms(m.p99)} | ${m.s2xx} | ${m.s503} | ${m.other5xx} | ${m.s4xx} | ${fixed(statementsPerJourney(r), 1)} | ${util} |`,
    );
  }
  const four = x[4];
  const overloads = results.runs.filter((r) => r.overload);
  const bad5xx = results.runs.reduce((sum, r) => sum + r.measured.other5xx + (r.overload?.other5xx ?? 0), 0);
  const noRetryAfter = overloads.reduce((sum, r) => sum + r.overload.s503NoRetryAfter, 0);
  const overload503 = overloads.reduce((sum, r) => sum + r.overload.s503, 0);
  const isolates = new Set(results.runs.flatMap((r) => [...r.measured.isolates, ...(r.overload?.isolates ?? [])].map((id) => `${r.n}:${id}`)));
  lines.push('');
  lines.push('Targets:');
  lines.push('');
  lines.push(
    `- ≥ ${TARGET_SPEEDUP_AT_4}× the one-shard throughput at 4 shards: **${fixed(four, 2)}×, ${four >= TARGET_SPEEDUP_AT_4 ? 'met' : 'missed'}**.`,
  );
  lines.push(
    `- No 5xx but 503 under overload: **${bad5xx === 0 && noRetryAfter === 0 && overload503 > 0 ? 'met' : 'missed'}**: ${overload503} answers 503 in the overload phases, ${noRetryAfter} of them without \`Retry-After\`, ${bad5xx} other 5xx in all phases.`,
  );
  if (overloads.length > 0) {
    lines.push('');
    lines.push(`Overload phases (${s.overloadFactor}× the queue bound of ${s.queueBound} requests per shard in clients, ${s.overloadMs / 1000} s):`);
    lines.push('');
    lines.push('| N | clients | journeys completed | 2xx | 503 (all with Retry-After?) | other 5xx | 4xx | overload errors thrown by the shards | statuses |');
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of overloads) {
      const o = r.overload;
      const thrown = Object.values(o.shards).reduce((sum, st) => sum + st.overloads, 0);
      lines.push(
        `| ${r.n} | ${o.connections} | ${o.okAll ?? o.ok} | ${o.s2xx} | ${o.s503} (${o.s503NoRetryAfter === 0 ? 'yes' : `${o.s503NoRetryAfter} without`}) | ${o.other5xx} | ${o.s4xx} | ${thrown} | \`${JSON.stringify(o.statuses)}\` |`,
      );
    }
  }
  if (bad5xx > 0) {
    lines.push('');
    lines.push(
      `The ${bad5xx} other 5xx: each is in bench/out/shards-N.log with the runtime's reason; bench/findings.md`,
      '("Shards, measured") has the one seen so far: a request awaiting only a D1 read that another request',
      'started and cached for the isolate (the signing-key rows), cancelled by the runtime as hung while that',
      'read waited in an overloaded queue.',
    );
  }
  if (overloads.length > 0) {
    lines.push('');
    lines.push(
      'Every request sent during an overload phase is answered and counted, also after the phase ends; a journey',
      'there waits behind a full queue at each statement, so few end within the phase itself. The shards throw',
      'more overload errors than the app answers 503: a read is retried once (src/db/read-retry.ts) before it gives up.',
    );
  }
  lines.push('');
  lines.push('### What is simulated, and what is real');
  lines.push('');
  lines.push(
    '- **Real**: the production app (src/index.ts) with its routing by SHARD_COUNT, every statement it sends, on',
    `  eight local D1 databases (\`DB\`, \`DB_SHARD_1\`..\`DB_SHARD_7\`, all migrated); accounts registered and enrolled`,
    '  through the API and spread over shards by the app\'s own username hash (users per database are printed by',
    '  the run); TOTP codes computed by the driver (RFC 6238), each step spent once per account (the app\'s replay',
    '  protection is untouched: an account serves one journey per 30 s step, so the pool holds enough of them).',
    `- **Simulated: D1's speed.** bench/shards/serial-d1.ts wraps each binding before the app sees env: one`,
    `  statement at a time per shard, a fixed service time per statement (a batch costs the sum of its`,
    `  statements), and D1's own error message "D1 DB is overloaded. Too many requests queued." once ${s.queueBound}`,
    '  requests wait or run on a shard. Cloudflare documents about 1,000 queries a second at 1 ms each; the',
    `  bench uses **${s.serviceMs} ms**, ${scale}× slower, so that the shards and not this machine's CPU (2 cores shared`,
    `  with other work, one workerd thread for every shard) limit the rate. "D1-equivalent" is the measured rate`,
    `  × ${scale}: what the same queues would serve at 1 ms, if the Workers in front were not the limit (in`,
    '  production they run on many machines). The ratio between N is what the bench measures; the queue bound is',
    '  a parameter of the model, not a published D1 figure.',
    '- **Simulated: password hashing.** bench/shards.toml aliases the password module to',
    '  bench/shards/cheap-password.ts (a salted SHA-256, still checked in constant time, never re-hashed):',
    '  scrypt costs about 200 ms of CPU per login and would hide D1 entirely on this machine. See the e2e',
    '  section for the real /login cost.',
    '- **Assumption: one isolate.** The queues are module state, so they are per shard only if every request runs',
    `  in one isolate. \`wrangler dev\` serves a Worker from one isolate; every response carries the isolate's id`,
    `  and the run saw ${isolates.size === results.runs.length ? 'exactly one id per worker started' : `${isolates.size} ids over ${results.runs.length} workers (the queues were not global!)`}.`,
    `- **Driver**: closed loop, client i keeps to shard i mod N (so a small loop never leaves a shard idle by`,
    `  chance); each phase runs at least ${s.phaseMs / 1000} s (longer for few shards, to reach about ${s.minJourneys}`,
    `  journeys), after a ${s.warmMs / 1000} s warm-up. Only journeys that end within the phase count; p50/p99 are`,
    '  of successful journeys, first request sent to last answer read.',
  );
  lines.push(END);
  return lines.join('\n');
}

export function insertShardsSection(section) {
  const path = `${root}BENCHMARKS.md`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = current.includes(START) ? current.replace(new RegExp(`${START}[\\s\\S]*?${END}`), () => section) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

export function writeShardsReport(results) {
  const section = shardsSection(results);
  writeFileSync(`${root}bench/shards.svg`, shardsChart(results));
  insertShardsSection(section);
  console.log(section);
  console.log('wrote the shards section of BENCHMARKS.md and bench/shards.svg');
}

if (import.meta.url === `file://${process.argv[1]}`) writeShardsReport(JSON.parse(readFileSync(`${outDir}shards.json`, 'utf8')));
