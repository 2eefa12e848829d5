// `npm run bench -- --only e2e --profile`: a V8 CPU profile of the app's isolate during each
// measured phase, through wrangler dev's inspector (Chrome DevTools Protocol, Profiler domain).
// Writes bench/out/profile-<route>.cpuprofile (open it in Chrome DevTools) and prints where the
// isolate's time went, by function and by package. A sampling profile measures shares of the
// isolate's own time, so it stays meaningful on a loaded machine where req/s does not.
import { writeFileSync } from 'node:fs';
import { outDir } from './lib.mjs';

/** wrangler's own dependency `ws`: wrangler's inspector proxy refuses Node's built-in WebSocket handshake. */
async function webSocketClass() {
  return (await import('ws')).WebSocket;
}

async function connect(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const url = targets[0]?.webSocketDebuggerUrl ?? `ws://127.0.0.1:${inspectorPort}/`;
  const Socket = await webSocketClass();
  const socket = new Socket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  let nextId = 1;
  const pending = new Map();
  const scripts = [];
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(typeof event.data === 'string' ? event.data : event.data.toString());
    if (message.method === 'Debugger.scriptParsed') scripts.push(message.params);
    if (message.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(JSON.stringify(message.error)));
      else resolve(message.result);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, scripts, close: () => socket.close() };
}

/**
 * Where each line of the worker's bundle came from: esbuild marks each module of a
 * non-minified bundle with a `// src/...` or `// node_modules/...` comment line.
 */
async function moduleMap(inspector) {
  await inspector.send('Debugger.enable');
  const maps = new Map();
  for (const script of inspector.scripts) {
    if (!script.url.endsWith('.js') || script.url.startsWith('cloudflare-internal') || script.url.startsWith('node-internal')) continue;
    const { scriptSource } = await inspector.send('Debugger.getScriptSource', { scriptId: script.scriptId });
    const starts = [];
    scriptSource.split('\n').forEach((line, index) => {
      const marker = /^\/\/ ((?:\.\.\/)*[\w@.-][\w@./-]*\.[cm]?[jt]sx?)$/.exec(line);
      if (marker) starts.push([index, marker[1].replace(/^(\.\.\/)+/, '')]);
    });
    // The profiler names a script by its module name (index.js), the debugger by its file URL.
    maps.set(script.url, starts);
    maps.set(script.url.replace(/^.*\//, ''), starts);
  }
  await inspector.send('Debugger.disable');
  return maps;
}

/** The module a (0-based) line of a script belongs to, by the last marker at or above it. */
function moduleAt(maps, url, line) {
  const starts = maps.get(url);
  if (!starts || starts.length === 0) return url || '(native)';
  let lo = 0;
  let hi = starts.length - 1;
  if (line < starts[0][0]) return url;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid][0] <= line) lo = mid;
    else hi = mid - 1;
  }
  return starts[lo][1];
}

/** node_modules/<package> or the src/ file. */
function packageOf(module) {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module);
  return modules ? modules[1] : module;
}

function summarize(profile, maps, top = 30) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const byFunction = new Map();
  const byPackage = new Map();
  for (const [id, count] of hits) {
    const { callFrame } = byId.get(id);
    const module = callFrame.url ? moduleAt(maps, callFrame.url, callFrame.lineNumber) : '(native)';
    const name = `${callFrame.functionName || '(anonymous)'} ${module}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
    const pkg = ['(idle)', '(program)', '(garbage collector)'].includes(callFrame.functionName) ? callFrame.functionName : packageOf(module);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + count);
  }
  // Inclusive time of our own functions (src/): each sample counts once per function on its stack.
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  for (const [id, count] of hits) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { callFrame } = byId.get(at);
      if (!callFrame.url) continue;
      const module = moduleAt(maps, callFrame.url, callFrame.lineNumber);
      if (!module.startsWith('src/')) continue;
      const name = `${callFrame.functionName || '(anonymous)'} ${module}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + count);
    }
  }
  const pct = (count) => `${((count / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`, 'self time by package:'];
  for (const [pkg, count] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${pct(count)}  ${pkg}`);
  lines.push('self time by function:');
  for (const [name, count] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(count)}  ${name}`);
  lines.push('inclusive time of src/ functions (synchronous parts only: an await ends a stack):');
  for (const [name, count] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${pct(count)}  ${name}`);
  return lines.join('\n');
}

/** Runs `body` under the profiler of the worker's isolate; writes and prints the profile. */
export async function profiled(worker, label, body) {
  const inspector = await connect(worker.inspectorPort);
  await inspector.send('Profiler.enable');
  await inspector.send('Profiler.setSamplingInterval', { interval: 200 });
  await inspector.send('Profiler.start');
  try {
    return await body();
  } finally {
    const { profile } = await inspector.send('Profiler.stop');
    const maps = await moduleMap(inspector);
    inspector.close();
    writeFileSync(`${outDir}profile-${label}.cpuprofile`, JSON.stringify(profile));
    console.log(`\nprofile of ${label} (bench/out/profile-${label}.cpuprofile):\n${summarize(profile, maps)}\n`);
  }
}
