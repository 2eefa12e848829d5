#!/usr/bin/env node
// `npm test` runs this: builds GET /openapi.json from the route declarations
// (scripts/openapi-document.mjs: the app bundled for Node, as the Worker builds
// it) and lints it with Spectral's `spectral:oas` ruleset (.spectral.yaml). Any
// error or warning fails. scripts/check-bundle.mjs checks that the deployed
// bundle serves this same document.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocumentFromDeclarations } from './openapi-document.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edge-mfa-openapi-'));
try {
  const document = await openApiDocumentFromDeclarations();
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document, null, 2));
  const spectral = join(root, 'node_modules/@stoplight/spectral-cli/dist/index.js');
  const result = spawnSync(process.execPath, [spectral, 'lint', file, '--ruleset', join(root, '.spectral.yaml'), '--fail-severity', 'warn'], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
