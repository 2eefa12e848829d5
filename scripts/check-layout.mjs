// The shape of the house (docs/architecture.md), checked: no file in src/ over
// 300 lines, no import from one feature folder into another, core/ and the
// primitives never import a feature, and no import cycle. Run by `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const MAX_LINES = 300;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const all = walk(src).filter((f) => f.endsWith('.ts'));
// Generated files are not read (their size is not ours) but are import targets like any other.
const files = all.filter((f) => !f.endsWith('.generated.ts'));
const known = new Set(all);
const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function resolveSpec(from, spec) {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) if (known.has(candidate)) return candidate;
  return null;
}

/** `features/<name>`, `core`, `http`, …: the top folder (and feature name) a file lives in. */
function area(file) {
  const parts = relative(src, file).split('/');
  if (parts[0] === 'features') return `features/${parts[1]}`;
  return parts.length > 1 ? parts[0] : '.';
}

const problems = [];
const graph = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) problems.push(`${relative(root, file)}: ${lines} lines (at most ${MAX_LINES})`);
  const edges = [];
  for (const match of text.matchAll(importRe)) {
    const spec = match[1] ?? match[2];
    const target = resolveSpec(file, spec);
    if (!target) continue;
    edges.push(target);
    const from = area(file);
    const to = area(target);
    const intoFeature = to.startsWith('features/') && to !== from;
    // Only the app (src/index.ts) and the scheduled entry point compose features.
    if (intoFeature && from !== '.' && from !== 'scheduled') {
      problems.push(`${relative(root, file)} imports ${relative(root, target)}: ${from} may not import ${to}`);
    }
  }
  graph.set(file, edges);
}

// Cycles: depth-first search, reporting each back edge's cycle once.
const state = new Map();
const stack = [];
const seen = new Set();
function visit(node) {
  state.set(node, 'open');
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 'open') {
      const cycle = stack.slice(stack.indexOf(next)).map((f) => relative(root, f));
      const key = [...cycle].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${[...cycle, relative(root, next)].join(' -> ')}`);
      }
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(`check-layout: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-layout: ${files.length} files in src/, none over ${MAX_LINES} lines, no feature imports another, no import cycle`);
