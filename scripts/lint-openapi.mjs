#!/usr/bin/env node
// `npm test` runs this: builds GET /openapi.json from the route declarations
// (the app bundled for Node, exactly as the Worker builds it) and lints it with
// Spectral's `spectral:oas` ruleset (.spectral.yaml). Any error or warning fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edge-mfa-openapi-'));
try {
  const entry = join(dir, 'document.mjs');
  await build({
    stdin: {
      contents: "import { app } from './src/index.ts'; import { buildOpenApiDocument } from './src/openapi/document.ts'; export default buildOpenApiDocument(app);",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    alias: { zod: './src/lib/zod-bundle.ts' },
    external: ['cloudflare:*', 'node:*'],
    outfile: entry,
    logLevel: 'error',
  });
  const { default: document } = await import(pathToFileURL(entry).href);
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
