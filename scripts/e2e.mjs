// Runs the browser tests (test-e2e/*.mjs) a few at a time, each in its own process
// with its own wrangler dev, ports and Chromium profile. Most of their time is
// waiting (a server starting, a TOTP step turning over), so running them side by
// side keeps `.ci/run` within its budget on two cores. Each script's output is
// printed whole when it ends, so the logs never interleave; the exit code is
// non-zero if any script failed. E2E_JOBS sets how many run at once (default 3).
// `node scripts/e2e.mjs readme` runs only the named scripts; `--skip readme` all but
// those (.ci/run starts the README walkthrough, which mostly waits for TOTP steps,
// beside `npm test` and the others after it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '../test-e2e/lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['enrollment', 'passkeys', 'readme', 'oidc', 'passwordless', 'oidc-passkeys'];
const args = process.argv.slice(2);
const skipped = args.flatMap((arg, i) => (args[i - 1] === '--skip' ? [arg] : []));
const named = args.filter((arg, i) => arg !== '--skip' && args[i - 1] !== '--skip');
const unknown = [...skipped, ...named].filter((name) => !ALL.includes(name));
if (unknown.length) {
  console.error(`unknown browser test: ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
  process.exit(2);
}
const SCRIPTS = (named.length ? named : ALL).filter((name) => !skipped.includes(name));
const jobs = Math.max(1, Number(process.env.E2E_JOBS ?? 3) || 3);

// The migrations are applied once, to a local D1 that each script copies (test-e2e/lib.mjs).
const template = mkdtempSync(join(tmpdir(), 'edge-mfa-e2e-d1-'));
if (SCRIPTS.some((name) => name !== 'readme')) await applyMigrations(template);
const env = { ...process.env, E2E_D1_TEMPLATE: template };

// E2E_PORTS=A-B: each script its own slice of the range, so two scripts starting at once never pick the same port.
const range = /^(\d+)-(\d+)$/.exec(process.env.E2E_PORTS ?? '');
const slice = range ? Math.floor((Number(range[2]) - Number(range[1]) + 1) / SCRIPTS.length) : 0;
if (range && slice < 3) {
  console.error(`E2E_PORTS ${process.env.E2E_PORTS}: at least 3 ports per script are needed (${SCRIPTS.length} scripts)`);
  process.exit(2);
}
function portsOf(name) {
  if (!range) return {};
  const first = Number(range[1]) + SCRIPTS.indexOf(name) * slice;
  return { E2E_PORTS: `${first}-${first + slice - 1}` };
}

function run(name) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(root, 'test-e2e', `${name}.mjs`)], { cwd: root, env: { ...env, ...portsOf(name) }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('close', (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      process.stdout.write(`\n=== test-e2e/${name}.mjs (${seconds} s, ${code === 0 ? 'passed' : `failed: ${signal ?? `exit ${code}`}`})\n`);
      process.stdout.write(Buffer.concat(output));
      resolve(code === 0);
    });
  });
}

const queue = [...SCRIPTS];
const results = new Map();
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) results.set(name, await run(name));
  }),
);
rmSync(template, { recursive: true, force: true });
const failed = SCRIPTS.filter((name) => !results.get(name));
console.log(`\nbrowser: ${SCRIPTS.length - failed.length} passed, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}`);
process.exit(failed.length ? 1 : 0);
