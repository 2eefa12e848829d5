// GET /openapi.json as the route declarations produce it: the app bundled for
// Node the way the Worker builds it, but without wrangler.toml's stand-ins
// for zod's JSON Schema modules and oslo's SHA-2 (only `zod` is aliased, to
// src/lib/zod-bundle.ts). Used by scripts/lint-openapi.mjs and
// scripts/check-bundle.mjs, and by scripts/build-page.mjs, which writes the
// document the Worker serves (public/assets/openapi.<hash>.json).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function openApiDocumentFromDeclarations() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-mfa-openapi-'));
  try {
    const entry = join(dir, 'document.mjs');
    await build({
      stdin: {
        contents: "import { app } from './src/index.ts'; import { buildOpenApiDocument } from './src/http/openapi/document.ts'; export default buildOpenApiDocument(app);",
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
      absWorkingDir: root,
      logLevel: 'error',
    });
    return (await import(pathToFileURL(entry).href)).default;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
