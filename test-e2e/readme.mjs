#!/usr/bin/env node
// `npm run test:e2e` (and `node test-e2e/readme.mjs` alone): the README's curl
// walkthrough, run as a newcomer pastes it. Starts `npm run dev -- --port <a free
// port: from E2E_PORTS when set, like the other browser tests>` (which makes
// .dev.vars and migrates the local D1 when they are missing, both gitignored;
// what it prints before "Ready" must be short), takes every ```sh block of the
// README's "Walkthrough with curl" section, and feeds them to one bash session,
// block after block:
//   1. the whole walkthrough;
//   2. the whole walkthrough again in the same shell (a second paste: a new user,
//      the helpers defined again, the temp folder kept);
//   3. the re-authenticate block twice in a row right after a block that used a
//      code, so the second (and usually the first) needs a code of a later 30 s
//      step than the last one accepted: the `code` helper must wait for it;
//   4. the blocks that need no fresh code, and the QR code line, with tokens that
//      are no good: each must show the error answer, fail, and leave every
//      variable as it was;
//   5. the curl recipes of docs/api.md ("Recipes") and docs/support.md ("Try it
//      locally"), which continue in the same shell, once each, from the clone.
// Every block must end with status 0, print no error answer (`"error"`, `HTTP
// 4xx/5xx`), nothing on stderr and no `null`, and leave no variable empty or
// `null`. The only change made to a block: the README's port 8787 becomes the
// port served here. `oathtool` is used when installed; otherwise a stand-in on
// PATH computes the same RFC 6238 code (apt-get install oathtool for the real one).
// At the end `git status` must show what it showed before: the walkthrough
// writes into a mktemp -d folder, not the clone.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'e2e-output');
const STEP_SECONDS = 30;

let failures = 0;
function check(name, ok, detail = '') {
  console.log(`  ${ok ? '✓' : '✗'} ${name}${!ok && detail ? `\n${detail.replace(/^/gm, '      ')}` : ''}`);
  if (!ok) failures += 1;
  return ok;
}

/** The ```sh blocks of a Markdown section (by its `## ` heading), in order. */
export function sectionBlocks(markdown, heading) {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
}

const gitStatus = () => {
  const result = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout : null;
};

/** A stand-in for `oathtool --totp -b SECRET` (RFC 6238: SHA-1, 6 digits, 30 s). */
const OATHTOOL_STANDIN = `#!/usr/bin/env node
const { createHmac } = require('node:crypto');
const secret = process.argv[process.argv.length - 1];
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
let bits = 0, value = 0; const bytes = [];
for (const char of secret.replace(/[\\s=]/g, '').toUpperCase()) {
  const index = alphabet.indexOf(char);
  if (index < 0) { console.error('oathtool: secret is not base32'); process.exit(1); }
  value = (value << 5) | index; bits += 5;
  if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
}
const counter = Buffer.alloc(8);
counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / ${STEP_SECONDS})));
const mac = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
const offset = mac[mac.length - 1] & 0x0f;
console.log(String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, '0'));
`;

/** One bash session; `run(block)` feeds a block as a paste and resolves with what it printed. */
function bashSession(env) {
  const bash = spawn('bash', ['--noprofile', '--norc'], { cwd: tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  bash.stdout.on('data', (chunk) => (stdout += chunk));
  bash.stderr.on('data', (chunk) => (stderr += chunk));
  let counter = 0;
  return {
    async run(block, timeoutMs = 90_000) {
      const marker = `__block_done_${++counter}__`;
      stdout = '';
      stderr = '';
      const started = Date.now();
      // What a paste does: the lines, then Enter. The marker line reports the block's
      // status and the variables later blocks depend on.
      bash.stdin.write(`${block}\necho "${marker} status=$? TOKEN=[$TOKEN] FULL=[$FULL] REFRESH=[$REFRESH] SECRET=[$SECRET] W=[$W]"\n`);
      while (!stdout.includes(marker)) {
        if (Date.now() - started > timeoutMs) throw new Error(`block ${counter} did not finish in ${timeoutMs / 1000} s:\n${block}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // let stderr drain
      const [printed, tail] = stdout.split(marker);
      const vars = Object.fromEntries([...tail.matchAll(/(\w+)=\[([^\]]*)\]/g)].map((m) => [m[1], m[2]]));
      const status = Number(/status=(\d+)/.exec(tail)?.[1]);
      return { printed, stderr, status, vars, seconds: (Date.now() - started) / 1000 };
    },
    close() {
      bash.stdin.end();
      bash.kill('SIGTERM');
    },
  };
}

/**
 * A pasted block succeeded: status 0, no error answer, nothing on stderr, no null
 * printed (`strictNull: false` for blocks whose answers have nullable fields, such as
 * the security log), and no variable it depends on empty or `null`.
 */
function checkBlock(label, block, result, expectedVars, { strictNull = true } = {}) {
  const first = block.split('\n').find((line) => line && !line.startsWith('#')) ?? '';
  const name = `${label}: ${first.length > 70 ? `${first.slice(0, 70)}…` : first}`;
  const problems = [];
  if (result.status !== 0) problems.push(`status ${result.status}`);
  if (result.stderr.trim() !== '') problems.push(`stderr: ${result.stderr.trim()}`);
  if (/"error"\s*:/.test(result.printed)) problems.push('an error answer was printed');
  if (strictNull && /\bnull\b/.test(result.printed)) problems.push('null was printed');
  for (const name of expectedVars) {
    const value = result.vars[name];
    if (!value || value === 'null') problems.push(`$${name} is ${JSON.stringify(value ?? '')}`);
  }
  return check(name, problems.length === 0, `${problems.join('\n')}\nprinted:\n${result.printed}`);
}

async function main() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = sectionBlocks(readme, 'Walkthrough with curl');
  // The docs' curl recipes continue the walkthrough in the same shell: run once each, after it.
  const docBlocks = [
    ['docs/api.md', 'Recipes'],
    ['docs/support.md', 'Try it locally'],
  ].flatMap(([file, heading]) => sectionBlocks(readFileSync(join(root, file), 'utf8'), heading).map((block) => ({ file, block })));
  if (blocks.length < 3) throw new Error(`the walkthrough has ${blocks.length} sh blocks; expected the helpers and several steps`);
  // E2E_PORTS=A-B (a shared machine) or any free ports: never the README's 8787, a developer's own npm run dev.
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://localhost:${port}`;
  const pasted = blocks.map((block) => block.replaceAll('localhost:8787', `localhost:${port}`));
  const codeBlocks = pasted.map((block, i) => (/\bcode "\$SECRET"/.test(block) ? i : -1)).filter((i) => i >= 0);
  const reauthenticate = pasted.findIndex((block) => block.includes('/reauthenticate'));
  if (reauthenticate < 0) throw new Error('the walkthrough has no /reauthenticate block');

  const statusBefore = gitStatus();
  const hadDevVars = existsSync(join(root, '.dev.vars'));
  mkdirSync(outDir, { recursive: true });
  const log = openSync(join(outDir, 'readme-dev.log'), 'w');
  const scratch = mkdtempSync(join(tmpdir(), 'edge-mfa-readme-'));
  const path = [process.env.PATH];
  if (spawnSync('sh', ['-c', 'command -v oathtool'], { stdio: 'ignore' }).status !== 0) {
    const bin = join(scratch, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'oathtool'), OATHTOOL_STANDIN);
    chmodSync(join(bin, 'oathtool'), 0o755);
    path.unshift(bin);
    console.log('oathtool is not installed: using a stand-in that computes the same code (apt-get install oathtool)');
  }

  console.log(`npm run dev -- --port ${port} (log: e2e-output/readme-dev.log)`);
  const dev = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--inspector-port', String(inspectorPort), '--show-interactive-dev-session=false', '--live-reload=false'], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', log, log],
    detached: true,
  });
  let shell;
  let walkthroughDir = '';
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (dev.exitCode !== null) throw new Error(`npm run dev exited with ${dev.exitCode}; see e2e-output/readme-dev.log`);
      try {
        if ((await fetch(`${base}/health`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error('npm run dev did not answer /health within 180 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // What a newcomer reads before "Ready": short (it was 383 lines of migration tables),
    // and no line from wrangler's banner, whose update check calls the npm registry.
    let startup = [];
    for (let tries = 0; tries < 50 && !startup.some((line) => line.includes('Ready on')); tries++) {
      if (tries) await new Promise((resolve) => setTimeout(resolve, 100));
      startup = readFileSync(join(outDir, 'readme-dev.log'), 'utf8').split('\n');
    }
    const ready = startup.findIndex((line) => line.includes('Ready on'));
    const beforeReady = startup.slice(0, ready + 1);
    check(
      `npm run dev says "Ready" after ${ready + 1} lines, with one line per database and no table of migrations or update check`,
      ready >= 0 && ready < 50 && beforeReady.some((line) => /^migrations: DB: /.test(line)) && !beforeReady.some((line) => /[┌│└]|update available|⛅/.test(line)),
      beforeReady.join('\n'),
    );
    // A fresh clone's .dev.vars (made just now) is the one worker-configuration.d.ts was
    // generated beside: wrangler then finds the committed types current. A developer's own
    // .dev.vars may hold other keys, so only then.
    if (!hadDevVars) {
      check('npm run dev does not say "Your types might be out of date" (npm run cf-typegen after a change of wrangler.toml)', !beforeReady.some((line) => line.includes('types might be out of date')), beforeReady.join('\n'));
    }

    // A shell as a newcomer has it: no W, TOKEN or FULL from anywhere else.
    const env = { ...process.env, PATH: path.join(':') };
    for (const name of ['W', 'B', 'TOKEN', 'FULL', 'REFRESH', 'SECRET', 'CODE', 'U']) delete env[name];
    shell = bashSession(env);
    const expectedAfter = (i) => {
      const upTo = pasted.slice(0, i + 1).join('\n');
      return ['TOKEN', 'FULL', 'REFRESH', 'SECRET', 'W'].filter((name) => new RegExp(`\\b${name}=`).test(upTo));
    };

    for (const round of ['first paste', 'second paste']) {
      console.log(`The walkthrough, ${round}:`);
      for (const [i, block] of pasted.entries()) {
        const result = await shell.run(block);
        walkthroughDir = result.vars.W || walkthroughDir;
        checkBlock(round, blocks[i], result, expectedAfter(i));
      }
    }

    console.log('A code block right after another one, then pasted twice in a row:');
    const lastCodeBlock = codeBlocks.filter((i) => i < reauthenticate).at(-1) ?? codeBlocks[0];
    checkBlock('code block', blocks[lastCodeBlock], await shell.run(pasted[lastCodeBlock]), expectedAfter(lastCodeBlock));
    const again = await shell.run(pasted[reauthenticate]);
    checkBlock('same 30 s step', blocks[reauthenticate], again, expectedAfter(reauthenticate));
    // The block before used a code of the step `code` recorded: the paste must sit out the rest of it.
    const usedStep = Number(readFileSync(join(again.vars.W, `step-${again.vars.SECRET}`), 'utf8'));
    const secondsLeft = (usedStep + 1) * STEP_SECONDS - Date.now() / 1000;
    const twice = await shell.run(pasted[reauthenticate]);
    checkBlock('pasted again at once', blocks[reauthenticate], twice, expectedAfter(reauthenticate));
    check(
      `the second paste waited for the next 30 s step (${twice.seconds.toFixed(1)} s, ${secondsLeft.toFixed(1)} s were left)`,
      twice.printed.includes('waiting for the next 30 s step') && twice.seconds >= secondsLeft - 1,
      `it took ${twice.seconds} s with ${secondsLeft} s left in the step of the code before`,
    );

    // A paste with a token that is no good (expired, or a typo): the block must show the
    // error answer, fail, and leave the variables as they were (never "null" or empty),
    // so the reader sees what went wrong and the next block is not fed garbage. The
    // blocks that need no fresh code (no 30 s wait), and the QR code line on its own.
    console.log('A block pasted with a token that is no good shows the error and assigns nothing:');
    await shell.run('SAVED="$TOKEN $FULL $REFRESH"; TOKEN=no-good; FULL=no-good; REFRESH=no-good');
    const qrLine = pasted.flatMap((block) => block.split('\n')).find((line) => /^curl .*\/qrcode/.test(line));
    if (!qrLine) throw new Error('the walkthrough has no curl line for /qrcode');
    const failing = pasted.filter((block, i) => i > 0 && !/\bcode "\$SECRET"/.test(block) && !block.includes('/register')).concat(qrLine);
    for (const block of failing) {
      const result = await shell.run(block);
      const first = block.split('\n').find((line) => line && !line.startsWith('#')) ?? '';
      const problems = [];
      if (result.status === 0) problems.push('status 0');
      if (!/"error"\s*:|error: 401/.test(result.printed + result.stderr)) problems.push('no error answer shown');
      for (const name of ['TOKEN', 'FULL', 'REFRESH']) if (result.vars[name] !== 'no-good') problems.push(`$${name} became ${JSON.stringify(result.vars[name])}`);
      check(`bad token: ${first.length > 70 ? `${first.slice(0, 70)}…` : first}`, problems.length === 0, `${problems.join('\n')}\nprinted:\n${result.printed}\nstderr:\n${result.stderr}`);
    }
    await shell.run('read -r TOKEN FULL REFRESH <<< "$SAVED"');

    // support.md reads ADMIN_TOKEN from .dev.vars: pasted in the clone, as it says.
    console.log('The recipes of docs/api.md and docs/support.md, in the same shell, in the clone:');
    await shell.run(`cd ${JSON.stringify(root)}`);
    for (const { file, block } of docBlocks) {
      const pastedBlock = block.replaceAll('localhost:8787', `localhost:${port}`);
      checkBlock(file, block, await shell.run(pastedBlock), ['TOKEN', 'FULL', 'REFRESH', 'SECRET', 'W'], { strictNull: false });
    }
  } finally {
    shell?.close();
    try {
      process.kill(-dev.pid, 'SIGTERM');
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      process.kill(-dev.pid, 'SIGKILL');
    } catch {}
    rmSync(scratch, { recursive: true, force: true });
    // The walkthrough's own mktemp -d folder (the README tells a reader to rm -r it).
    if (walkthroughDir.startsWith(tmpdir())) rmSync(walkthroughDir, { recursive: true, force: true });
  }

  if (statusBefore !== null) {
    const statusAfter = gitStatus();
    check('git status shows what it showed before', statusAfter === statusBefore, `before:\n${statusBefore}\nafter:\n${statusAfter}`);
  }
  if (!hadDevVars) console.log('  (npm run dev made .dev.vars, which git ignores; it stays for the next npm run dev)');
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  failures += 1;
}
if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('The README walkthrough runs as pasted.');
