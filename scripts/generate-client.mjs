#!/usr/bin/env node
// `node scripts/generate-client.mjs [--check]`: writes client/edge-mfa-client.ts,
// the dependency-free typed client, from the document GET /openapi.json serves
// (built from the route declarations, scripts/openapi-document.mjs). With
// --check it writes nothing and fails when the committed file is not what the
// declarations produce now, then type-checks the client and its example
// (client/example.ts) the way a consumer would: a fresh project with the
// default strict tsconfig of `tsc --init`, outside src/, that has only those files.
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

// What `tsc --init` (TypeScript 5.9) writes, with noEmit: target es2016, commonjs, strict.
const consumer = mkdtempSync(join(tmpdir(), 'edge-mfa-consumer-'));
try {
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'es2016', module: 'commonjs', esModuleInterop: true, forceConsistentCasingInFileNames: true, strict: true, skipLibCheck: true, noEmit: true } }, null, 2),
  );
  copyFileSync(target, join(consumer, 'edge-mfa-client.ts'));
  copyFileSync(example, join(consumer, 'example.ts'));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', consumer], { encoding: 'utf8' });
  if (tsc.status !== 0) {
    console.error(`generate-client: the client or its example does not type-check in a default strict project:\n${tsc.stdout}${tsc.stderr}`);
    process.exit(1);
  }
} finally {
  rmSync(consumer, { recursive: true, force: true });
}
console.log('generate-client: client/edge-mfa-client.ts is up to date and type-checks with its example in a default strict project');
