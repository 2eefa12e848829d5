#!/usr/bin/env node
// Builds what the Worker serves from its static assets (wrangler.toml
// `[assets]`, directory public/), outside its own bundle:
// - the enrollment page's script: the TypeScript modules of src/features/page/client
//   (type-checked by `tsc -p tsconfig.page.json`) as one minified IIFE,
//   public/assets/page.<hash>.js;
// - its stylesheet (styles.css there) minified, public/assets/page.<hash>.css,
//   which the OpenID Provider's hosted pages share;
// - GET /openapi.json's document, built from the route declarations
//   (scripts/openapi-document.mjs), public/assets/openapi.<hash>.json, which the
//   Worker reads through its ASSETS binding (src/http/openapi/document.ts).
// The names (content-hashed, so each may be cached for good) and the script's
// and stylesheet's Subresource Integrity go to src/http/page-assets.generated.ts
// and src/http/openapi/document.generated.ts. Run by `npm test`, `npm run
// typecheck`, `npm ci` (prepare), vitest.config.ts (so a bare `npx vitest` is never
// stale) and wrangler's [build] step (dev, deploy, deploy --dry-run; also
// bench/app.toml), which `wrangler dev` reruns on every change under src/.
// Each part is rebuilt only when its inputs changed.
//
// Served from the assets, the script, stylesheet and document are not in the
// Worker's gzipped bundle (budget: scripts/check-bundle.mjs). Only imports of
// the page's own modules are allowed: the page has no dependencies.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const clientDir = join(root, 'src/features/page/client');
const assetsDir = join(root, 'public/assets');
const pageModule = join(root, 'src/http/page-assets.generated.ts');
const documentModule = join(root, 'src/http/openapi/document.generated.ts');
const stylesheet = join(clientDir, 'styles.css');
const entry = 'main';
// Browser-safe modules of the Worker that the page shares (one list per fact):
// no imports of their own. Type-only imports (the API's response types) are
// erased by esbuild and never reach the bundle.
const shared = [join(root, 'src/core/event-types.ts')];
const require = createRequire(import.meta.url);

function fail(message) {
  console.error(`build-page: ${message}`);
  process.exit(1);
}

/** Module ids are paths under src/features/page/client without `.ts`, e.g. `main`, `api`. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const path = join(dir, item.name);
    if (item.isDirectory()) return sourceFiles(path);
    return item.name.endsWith('.ts') && !item.name.endsWith('.d.ts') && !item.name.endsWith('.generated.ts') ? [path] : [];
  });
}

/** `// inputs: sha256 <hex>` of these files (their paths and bytes) and of esbuild's version. */
function stampOf(files) {
  const fingerprint = createHash('sha256');
  fingerprint.update(require('esbuild/package.json').version);
  for (const file of files) fingerprint.update(`\0${relative(root, file)}\0`).update(readFileSync(file));
  return `// inputs: sha256 ${fingerprint.digest('hex')}`;
}

/** Up to date: the module was built from these inputs and the assets it names are there. */
function upToDate(module, stamp) {
  if (!existsSync(module)) return false;
  const source = readFileSync(module, 'utf8');
  if (source.split('\n', 2)[1] !== stamp) return false;
  return [...source.matchAll(/'\/assets\/([^']+)'/g)].every(([, name]) => existsSync(join(assetsDir, name)));
}

/** Writes `content` as public/assets/<base>.<hash>.<ext>, removing that base's older builds; returns its URL path. */
function writeAsset(base, ext, content) {
  mkdirSync(assetsDir, { recursive: true });
  const name = `${base}.${createHash('sha256').update(content).digest('hex').slice(0, 16)}.${ext}`;
  for (const old of readdirSync(assetsDir)) if (old.startsWith(`${base}.`) && old.endsWith(`.${ext}`) && old !== name) rmSync(join(assetsDir, old));
  writeFileSync(join(assetsDir, name), content);
  return `/assets/${name}`;
}

const integrity = (content) => `sha384-${createHash('sha384').update(content).digest('base64')}`;

function buildPage() {
  const stamp = stampOf([fileURLToPath(import.meta.url), stylesheet, ...sourceFiles(clientDir).sort(), ...shared]);
  if (upToDate(pageModule, stamp)) return;
  // esbuild strips the types (the page's own tsconfig type-checks them in `npm test`),
  // bundles the modules into one IIFE and minifies it: their top-level names stay
  // private to the page, never globals.
  const { buildSync, transformSync } = require('esbuild');
  const built = buildSync({
    entryPoints: [join(clientDir, `${entry}.ts`)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    charset: 'utf8',
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  for (const input of Object.keys(built.metafile.inputs)) {
    const path = join(root, input);
    if (!path.startsWith(clientDir) && !shared.includes(path)) fail(`the page may import only its own modules and ${shared.map((f) => relative(root, f)).join(', ')}, not ${input}`);
  }
  const script = `${built.outputFiles[0].text.trim()}\n`;
  const styles = `${transformSync(readFileSync(stylesheet, 'utf8'), { loader: 'css', minify: true, target: 'chrome111', legalComments: 'none' }).code.trim()}\n`;
  writeFileSync(
    pageModule,
    `// generated by scripts/build-page.mjs from src/features/page/client; do not edit
${stamp}
/** The page's script and stylesheet, served from the Worker's static assets (public/assets). */
export const PAGE_SCRIPT_PATH = '${writeAsset('page', 'js', script)}';
export const PAGE_SCRIPT_INTEGRITY = '${integrity(script)}';
export const PAGE_STYLES_PATH = '${writeAsset('page', 'css', styles)}';
export const PAGE_STYLES_INTEGRITY = '${integrity(styles)}';
`,
  );
}

/** Every file the document can depend on: the Worker's sources (not the page's browser code), the locked dependencies, the scripts that build it. */
function documentInputs() {
  return [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL('./openapi-document.mjs', import.meta.url)),
    join(root, 'package-lock.json'),
    ...sourceFiles(join(root, 'src'))
      .filter((file) => !file.startsWith(clientDir))
      .sort(),
  ];
}

async function buildDocument() {
  const stamp = stampOf(documentInputs());
  if (upToDate(documentModule, stamp)) return;
  // The app imports this module; any name will do while the document is built.
  if (!existsSync(documentModule)) writeFileSync(documentModule, "export const OPENAPI_DOCUMENT_PATH = '/assets/openapi.json';\n");
  const { openApiDocumentFromDeclarations } = await import('./openapi-document.mjs');
  const json = JSON.stringify(await openApiDocumentFromDeclarations());
  writeFileSync(
    documentModule,
    `// generated by scripts/build-page.mjs from the route declarations; do not edit
${stamp}
/** GET /openapi.json's body, built from the route declarations, in the Worker's static assets (public/assets). */
export const OPENAPI_DOCUMENT_PATH = '${writeAsset('openapi', 'json', json)}';
`,
  );
}

buildPage();
await buildDocument();
