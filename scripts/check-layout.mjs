// The shape of the house (docs/architecture.md), checked: no file in src/ over
// 300 lines, no import from one feature folder into another, core/ and the
// primitives never import a feature, and no import cycle. Run by `npm test`.
// A self-test on a made-up tree runs first: a check that cannot fail fails.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 300;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

// `import … from './x'`, `export … from './x'`, `import './x'` (for its effects) and `import('./x')`.
const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/**
 * The problems of a tree of TypeScript files under `src` (a Map of absolute path
 * to text). Generated files are not measured (their size is not ours) but are
 * import targets like any other.
 */
export function layoutProblems(src, texts) {
  const known = new Set(texts.keys());
  const files = [...known].filter((f) => !f.endsWith('.generated.ts'));
  const resolveSpec = (from, spec) => {
    const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
    for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) if (known.has(candidate)) return candidate;
    return null;
  };
  /** `features/<name>`, `core`, `http`, …: the top folder (and feature name) a file lives in. */
  const area = (file) => {
    const parts = relative(src, file).split('/');
    if (parts[0] === 'features') return `features/${parts[1]}`;
    return parts.length > 1 ? parts[0] : '.';
  };
  const shown = (file) => relative(root, file);

  const problems = [];
  const graph = new Map();
  for (const file of files) {
    const text = texts.get(file);
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_LINES) problems.push(`${shown(file)}: ${lines} lines (at most ${MAX_LINES})`);
    const edges = [];
    for (const match of text.matchAll(importRe)) {
      const target = resolveSpec(file, match[1] ?? match[2] ?? match[3]);
      if (!target) continue;
      edges.push(target);
      const from = area(file);
      const to = area(target);
      const intoFeature = to.startsWith('features/') && to !== from;
      // Only the app (src/index.ts) and the scheduled entry point compose features.
      if (intoFeature && from !== '.' && from !== 'scheduled') {
        problems.push(`${shown(file)} imports ${shown(target)}: ${from} may not import ${to}`);
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
        const cycle = stack.slice(stack.indexOf(next)).map(shown);
        const key = [...cycle].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          problems.push(`import cycle: ${[...cycle, shown(next)].join(' -> ')}`);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  }
  for (const file of files) if (!state.has(file)) visit(file);
  return problems;
}

/** Each kind of problem, planted in a made-up tree, must be found; the same tree without them must be clean. */
function selfTest() {
  const src = join(root, 'self-test-src');
  const tree = (entries) => new Map(Object.entries(entries).map(([path, text]) => [join(src, path), text]));
  const clean = {
    'index.ts': "import { a } from './features/one/routes';\nexport default a;\n",
    'features/one/routes.ts': "import { shared } from '../../core/shared';\nexport const a = shared;\n",
    'features/two/routes.ts': "import type { Shared } from '../../core/shared.js';\nexport const b: Shared = 1;\n",
    'core/shared.ts': 'export const shared = 1;\nexport type Shared = number;\n',
    'core/big.generated.ts': '//\n'.repeat(MAX_LINES + 1),
  };
  const planted = [
    [{ 'core/long.ts': '//\n'.repeat(MAX_LINES + 1) }, /core\/long\.ts: 301 lines/],
    [{ 'features/two/x.ts': "export { a } from '../one/routes';\n" }, /features\/two may not import features\/one/],
    [{ 'core/y.ts': "const m = await import('../features/one/routes.js');\nexport default m;\n" }, /core may not import features\/one/],
    [{ 'core/p.ts': "import type { Q } from './q';\nexport type P = Q;\n", 'core/q.ts': "import {\n  type P,\n} from './p';\nexport type Q = P;\n" }, /import cycle: .*core\/p\.ts/],
    [{ 'core/r.ts': "import './s';\n", 'core/s.ts': "import { t } from './t.js';\nexport const s = t;\n", 'core/t.ts': "export * from './r';\nexport const t = 1;\n" }, /import cycle: .*core\/r\.ts -> .*core\/s\.ts -> .*core\/t\.ts -> .*core\/r\.ts/],
  ];
  const failures = [];
  const cleanProblems = layoutProblems(src, tree(clean));
  if (cleanProblems.length > 0) failures.push(`a clean tree has problems: ${cleanProblems.join('; ')}`);
  for (const [extra, expected] of planted) {
    const found = layoutProblems(src, tree({ ...clean, ...extra }));
    if (found.length !== 1 || !expected.test(found[0])) failures.push(`${Object.keys(extra).join(', ')}: expected one problem matching ${expected}, found ${JSON.stringify(found)}`);
  }
  if (failures.length > 0) {
    console.error(`check-layout: the self-test failed\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  selfTest();
  const src = join(root, 'src');
  const texts = new Map(walk(src).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(f, 'utf8')]));
  const problems = layoutProblems(src, texts);
  if (problems.length > 0) {
    console.error(`check-layout: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  const measured = [...texts.keys()].filter((f) => !f.endsWith('.generated.ts')).length;
  console.log(`check-layout: ${measured} files in src/, none over ${MAX_LINES} lines, no feature imports another, no import cycle (self-test passed)`);
}
