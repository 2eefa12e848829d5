#!/usr/bin/env node
// `node scripts/generate-client.mjs [--check]`: writes client/edge-mfa-client.ts,
// the dependency-free typed client, from the document GET /openapi.json serves
// (built from the route declarations, scripts/openapi-document.mjs). With
// --check it writes nothing and fails when the committed file is not what the
// declarations produce now, then type-checks the client and its examples
// (client/example.ts, docs/api.md's) the way a consumer would: copied into a
// fresh project outside src/ (see `consumers` below).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClient } from './client-generator.mjs';
import { openApiDocumentFromDeclarations } from './openapi-document.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'client/edge-mfa-client.ts');
const example = join(root, 'client/example.ts');
const source = generateClient(await openApiDocumentFromDeclarations());

if (!process.argv.includes('--check')) {
  writeFileSync(target, source);
  console.log('generate-client: wrote client/edge-mfa-client.ts');
  process.exit(0);
}

let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // Missing: reported below.
}
if (current !== source) {
  console.error('generate-client: client/edge-mfa-client.ts is out of date with the route declarations; run `node scripts/generate-client.mjs` and commit it');
  process.exit(1);
}

// Two consumers, each a fresh folder outside src/ holding the copied client and
// the example, as docs/api.md tells a consumer to do:
// 1. today's project: the tsconfig `tsc --init` writes (TypeScript 5.9: nodenext,
//    strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess,
//    verbatimModuleSyntax...), in an ES module package ("type": "module"), with
//    docs/api.md's own example beside them (top-level await, as pasted);
// 2. an older CommonJS project: what `tsc --init` wrote before 5.9 (es2016,
//    commonjs, strict).
const tsc = join(root, 'node_modules/typescript/bin/tsc');
/** The ```ts block of docs/api.md's "OpenAPI and a typed client" section: what a consumer pastes. */
function docsExample() {
  const markdown = readFileSync(join(root, 'docs/api.md'), 'utf8');
  const start = markdown.indexOf('\n## OpenAPI and a typed client\n');
  const end = markdown.indexOf('\n## ', start + 1);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(markdown.slice(start, end < 0 ? undefined : end));
  if (start < 0 || !block) throw new Error('docs/api.md: no ```ts example in "## OpenAPI and a typed client"');
  return block[1];
}
const consumers = [
  {
    name: 'a project made by `tsc --init`, an ES module package',
    setUp(folder) {
      const init = spawnSync(process.execPath, [tsc, '--init'], { cwd: folder, encoding: 'utf8' });
      if (init.status !== 0) throw new Error(`tsc --init failed:\n${init.stdout}${init.stderr}`);
      writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      writeFileSync(join(folder, 'docs-example.ts'), docsExample());
    },
  },
  {
    name: 'an older CommonJS project (es2016, commonjs, strict)',
    setUp(folder) {
      writeFileSync(
        join(folder, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { target: 'es2016', module: 'commonjs', esModuleInterop: true, forceConsistentCasingInFileNames: true, strict: true, skipLibCheck: true } }, null, 2),
      );
    },
  },
];
for (const { name, setUp } of consumers) {
  const consumer = mkdtempSync(join(tmpdir(), 'edge-mfa-consumer-'));
  try {
    setUp(consumer);
    copyFileSync(target, join(consumer, 'edge-mfa-client.ts'));
    copyFileSync(example, join(consumer, 'example.ts'));
    const result = spawnSync(process.execPath, [tsc, '-p', consumer, '--noEmit'], { encoding: 'utf8' });
    if (result.status !== 0) {
      console.error(`generate-client: the client or its examples do not type-check in ${name}:\n${result.stdout}${result.stderr}`);
      process.exit(1);
    }
  } finally {
    rmSync(consumer, { recursive: true, force: true });
  }
}
console.log('generate-client: client/edge-mfa-client.ts is up to date and type-checks with its examples in a tsc --init ES module project and a CommonJS one');
