// `npm run bench -- --only rows`: rows read and written per route, from D1's
// own meta (rows_read, rows_written), for one full journey. A count, not a
// timing: the same code gives the same figures on any machine. Prints the
// table and writes the "Rows read and written per route" section of
// BENCHMARKS.md (between its markers, so the rest of the file is untouched).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { outDir, root, runWrangler, startWorker, totpNow } from './lib.mjs';
import { storageStep } from './storage.mjs';

const START = '<!-- rows:start -->';
const END = '<!-- rows:end -->';
const PASSWORD = 'correct horse battery staple';

// A browser's user agent, so the stored sessions and events have production's size (bench/storage.mjs).
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36';

async function step(base, label, path, { method = 'POST', token, json } = {}) {
  const headers = { 'User-Agent': USER_AGENT };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${label}: ${response.status} ${text}`);
  const totals = JSON.parse(response.headers.get('X-Bench-D1'));
  const statements = await (await fetch(`${base}/__rows/last`)).json();
  return { label, path, status: response.status, ...totals, statements, body: text ? JSON.parse(text) : null };
}

/** register, login, create-otp, otp-verify, me, refresh, login + otp-verify again, logout. */
async function journey(base, username) {
  const steps = [];
  const run = async (...args) => {
    const result = await step(base, ...args);
    steps.push(result);
    return result.body;
  };
  await run('register', '/register', { json: { username, password: PASSWORD } });
  const login = await run('login', '/login', { json: { username, password: PASSWORD } });
  const created = await run('create-otp', '/create-otp', { token: login.token });
  const enrolled = await run('otp-verify (enrollment)', '/otp-verify', { token: login.token, json: { code: totpNow(created.secret) } });
  await run('me', '/me', { method: 'GET', token: enrolled.token });
  await run('refresh', '/refresh', { json: { refreshToken: enrolled.refreshToken } });
  const again = await run('login (enrolled)', '/login', { json: { username, password: PASSWORD } });
  // The next step's code: within the ±1 window and newer than the one just spent.
  const verified = await run('otp-verify', '/otp-verify', { token: again.token, json: { code: totpNow(created.secret, Date.now() + 30_000) } });
  await run('logout', '/logout', { token: verified.token });
  return steps;
}

function table(steps) {
  const lines = ['| step | route | statements | rows read | rows written |', '| --- | --- | ---: | ---: | ---: |'];
  for (const s of steps) lines.push(`| ${s.label} | \`${s.path}\` | ${s.statements.length} | ${s.rowsRead} | ${s.rowsWritten} |`);
  const sum = (pick, list) => list.reduce((total, s) => total + pick(s), 0);
  const loginJourney = steps.filter((s) => s.label === 'login (enrolled)' || s.label === 'otp-verify');
  lines.push(`| **login journey** | \`/login\` + \`/otp-verify\` | ${sum((s) => s.statements.length, loginJourney)} | ${sum((s) => s.rowsRead, loginJourney)} | **${sum((s) => s.rowsWritten, loginJourney)}** |`);
  lines.push(`| **whole journey** | | ${sum((s) => s.statements.length, steps)} | ${sum((s) => s.rowsRead, steps)} | ${sum((s) => s.rowsWritten, steps)} |`);
  return lines;
}

function breakdown(steps) {
  const lines = [];
  for (const s of steps.filter((x) => x.label === 'login (enrolled)' || x.label === 'otp-verify')) {
    lines.push(`- \`${s.path}\` (${s.label}):`);
    for (const st of s.statements) lines.push(`  - ${st.rowsWritten} written, ${st.rowsRead} read: \`${st.sql.replace(/\s+/g, ' ').slice(0, 110)}\``);
  }
  return lines;
}

/** Puts the section in BENCHMARKS.md, replacing the previous one (or appending the first). */
export function insertRowsSection(section) {
  const path = `${root}BENCHMARKS.md`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = current.includes(START) ? current.replace(new RegExp(`${START}[\\s\\S]*?${END}`), () => section) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
  console.log('wrote the rows section of BENCHMARKS.md');
}

export async function rowsStep() {
  mkdirSync(outDir, { recursive: true });
  const state = `${outDir}rows-state`;
  rmSync(state, { recursive: true, force: true });
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, '-c', 'bench/rows.toml']);
  const vars = { JWT_SECRET: randomBytes(32).toString('hex'), TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
  const worker = await startWorker('rows', 'bench/rows.toml', { vars, readyPath: '/health', persistTo: state });
  try {
    // The first journey creates the signing key and warms the isolate's caches; the second is measured.
    await journey(worker.base, `warm${Date.now()}`);
    const steps = await journey(worker.base, `rows${Date.now()}`);
    const section = [
      START,
      '## Rows read and written per route',
      '',
      "D1's own `meta.rows_read` and `meta.rows_written`, summed over every statement of one request",
      '(bench/rows/worker.ts wraps the D1 binding; the app never does), for one full journey after a',
      'warm-up journey. D1 bills and limits by these counts; they do not depend on the machine.',
      'An index entry written counts as a row written (D1 pricing). Rerun: `npm run bench -- --only rows`.',
      '',
      ...table(steps),
      '',
      'Statements of the login journey:',
      '',
      ...breakdown(steps),
      END,
    ].join('\n');
    console.log(table(steps).join('\n'));
    console.log(breakdown(steps).join('\n'));
    insertRowsSection(section);
    const summary = steps.map(({ label, path: route, statements, rowsRead, rowsWritten }) => ({ label, route, statements: statements.length, rowsRead, rowsWritten }));
    return { summary, section, steps };
  } finally {
    await worker.stop();
  }
}

/** The rows step, then the storage step on the database it left (bench/storage.mjs). */
export async function rowsAndStorageStep() {
  const { summary, section, steps } = await rowsStep();
  const storage = storageStep(`${outDir}rows-state`, steps);
  return { summary, section, storage };
}

if (import.meta.url === `file://${process.argv[1]}`) await rowsAndStorageStep();
