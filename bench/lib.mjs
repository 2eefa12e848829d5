// Helpers for bench/run.mjs: wrangler processes, a loopback load generator,
// TOTP codes for the seeded users, statistics.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { portAllocator } from '../scripts/free-port.mjs';
import { totp } from '../scripts/totp.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const outDir = `${root}bench/out/`;
const wrangler = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));
/** Nothing may call out: no metrics, no fetch of Request.cf data. */
export const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `BENCH_PORTS=8961-8969`: take ports only from that range (a machine shared by several
 * people, each given their own); else any free port. Each call tries the next port.
 */
export const freePort = portAllocator('BENCH_PORTS');

/** Runs wrangler to completion; resolves with its output, rejects on a non-zero exit. */
export function runWrangler(args, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wrangler, ...args], { cwd: root, env: quietEnv });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.join(' ')} exited ${code}:\n${output.slice(-2000)}`));
    });
  });
}

/** The pids of a process's descendants, from /proc. */
function descendants(pid) {
  const found = [];
  const walk = (p) => {
    let children = [];
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const child of children) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a set of pids has used so far, from /proc; a gone pid counts 0. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size of a pid in bytes, or null. */
export function rssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * `wrangler dev -c <config>` on a free loopback port, in its own process group
 * so stop() ends exactly the processes it started. Resolves once `readyPath` answers.
 */
export async function startWorker(name, config, { vars = {}, readyPath = '/', persistTo } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = ['dev', '-c', config, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort)];
  if (persistTo) args.push('--persist-to', persistTo);
  for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}:${value}`);
  const log = openSync(`${outDir}${name}.log`, 'w');
  const child = spawn(process.execPath, [wrangler, ...args], { cwd: root, env: quietEnv, detached: true, stdio: ['ignore', log, log] });
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && !exited; i++) await sleep(100);
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    // wrangler's workerd child is in the same group; give it a moment to release the D1 files.
    await sleep(300);
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name}: wrangler dev exited early; see bench/out/${name}.log`);
    try {
      const response = await fetch(base + readyPath, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      const workerd = descendants(child.pid).find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd';
        } catch {
          return false;
        }
      });
      // wrangler's node process and everything it started (workerd): whose CPU a request costs.
      const pids = [child.pid, ...descendants(child.pid)];
      return { name, base, port, inspectorPort, stop, workerdPid: workerd ?? null, pids };
    } catch {
      await sleep(500);
    }
  }
  await stop();
  throw new Error(`${name}: not ready after 90 s; see bench/out/${name}.log`);
}

/** One request over a keep-alive agent; the body is read and dropped (or parsed when asked). */
export function send(agent, base, { method = 'GET', path, headers = {}, body }, parse = false) {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => parse && chunks.push(chunk));
        response.on('end', () => {
          let json;
          if (parse) {
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {}
          }
          resolve({ status: response.statusCode, json });
        });
        response.on('error', () => resolve({ status: 0 }));
      },
    );
    request.setTimeout(120_000, () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve({ status: 0 }));
    if (body !== undefined) request.end(body);
    else request.end();
  });
}

/**
 * Closed-loop load: `connections` clients each send their next request as soon
 * as the previous one answers, until `durationMs` passes, `maxRequests` are
 * sent or `next` returns null (no more valid requests). Bounded in count and time.
 */
export async function load(base, { connections, durationMs, maxRequests, next, expect = 200, pids = [] }) {
  const cpuBefore = cpuSeconds(pids);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let sent = 0;
  let exhausted = false;
  const start = performance.now();
  const deadline = start + durationMs;
  const client = async () => {
    while (performance.now() < deadline && sent < maxRequests && !exhausted) {
      const request = next(sent++);
      if (!request) {
        exhausted = true;
        break;
      }
      const t0 = performance.now();
      const { status } = await send(agent, base, request);
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== expect) errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { requests: latencies.length, errors, statuses, seconds, latencies, exhausted, cpuSeconds: cpuSeconds(pids) - cpuBefore };
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values) {
  return percentile(values, 50);
}

/** What an authenticator app shows now for a base32 secret (RFC 6238, SHA-1, 6 digits, 30 s). */
export function totpNow(secretBase32, nowMs = Date.now()) {
  return totp(secretBase32, nowMs / 1000);
}
