#!/usr/bin/env node
// Builds what the Worker serves from its static assets (wrangler.toml
// `[assets]`, directory public/), outside its own bundle:
// - the enrollment page's script: the TypeScript modules of src/features/page/client
//   (type-checked by `tsc -p tsconfig.page.json`) as one minified IIFE,
//   public/assets/page.<hash>.js;
// - its stylesheet (styles.css there) minified, public/assets/page.<hash>.css,
//   which the OpenID Provider's hosted pages share;
// - the OpenID Provider's hosted pages' two scripts, from the TypeScript modules
//   of src/features/oidc/client (the same tsconfig.page.json): the second-factor
//   passkey step's, public/assets/oidc-passkey.<hash>.js, and the sign-in page's
//   (passwordless sign-in), public/assets/oidc-signin.<hash>.js;
// - GET /openapi.json's document, built from the route declarations
//   (scripts/openapi-document.mjs), public/assets/openapi.<hash>.json, which the
//   Worker reads through its ASSETS binding (src/http/openapi/document.ts).
// The names (content-hashed, so each may be cached for good) and the scripts'
// and stylesheet's Subresource Integrity go to src/http/page-assets.generated.ts,
// src/features/oidc/pages/scripts.generated.ts and
// src/http/openapi/document.generated.ts. Run by `npm test`, `npm run
// typecheck`, `npm ci` (prepare), vitest.config.ts (so a bare `npx vitest` is never
// stale) and wrangler's [build] step (dev, deploy, deploy --dry-run; also
// bench/app.toml), which `wrangler dev` reruns on every change under src/.
// Each part is rebuilt only when its inputs changed.
//
// Served from the assets, the scripts, stylesheet and document are not in the
// Worker's gzipped bundle (budget: scripts/check-bundle.mjs). Only imports of
// each script's own modules are allowed: the scripts have no dependencies.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const clientDir = join(root, 'src/features/page/client');
const assetsDir = join(root, 'public/assets');
const pageModule = join(root, 'src/http/page-assets.generated.ts');
const hostedDir = join(root, 'src/features/oidc/client');
const hostedModule = join(root, 'src/features/oidc/pages/scripts.generated.ts');
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

/** The TypeScript modules under `dir` (generated ones and declarations aside). */
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

/**
 * `entry` and the modules it imports as one minified IIFE: esbuild strips the types
 * (tsconfig.page.json type-checks them in `npm test`), and the modules' top-level
 * names stay private to the script, never globals. Imports only from `dir` and `allowed`.
 */
function bundle(entry, dir, allowed = []) {
  const { buildSync } = require('esbuild');
  const built = buildSync({
    entryPoints: [entry],
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
    if (!path.startsWith(dir) && !allowed.includes(path)) fail(`${relative(root, entry)} may import only the modules of ${[dir, ...allowed].map((f) => relative(root, f)).join(', ')}, not ${input}`);
  }
  return `${built.outputFiles[0].text.trim()}\n`;
}

function buildPage() {
  const stamp = stampOf([fileURLToPath(import.meta.url), stylesheet, ...sourceFiles(clientDir).sort(), ...shared]);
  if (upToDate(pageModule, stamp)) return;
  const { transformSync } = require('esbuild');
  const script = bundle(join(clientDir, `${entry}.ts`), clientDir, shared);
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

/** The hosted pages' scripts: each a `<script src integrity nonce>` of src/features/oidc/pages/layout.ts. */
function buildHostedScripts() {
  const stamp = stampOf([fileURLToPath(import.meta.url), ...sourceFiles(hostedDir).sort()]);
  if (upToDate(hostedModule, stamp)) return;
  const constant = (name, base, file) => {
    const script = bundle(join(hostedDir, file), hostedDir);
    return `export const ${name}: HostedScript = { path: '${writeAsset(base, 'js', script)}', integrity: '${integrity(script)}' };`;
  };
  writeFileSync(
    hostedModule,
    `// generated by scripts/build-page.mjs from src/features/oidc/client; do not edit
${stamp}
/** A hosted page's script, served from the Worker's static assets (public/assets). */
export type HostedScript = { path: string; integrity: string };
/** The second-factor step's passkey form (client/passkey-step.ts). */
${constant('PASSKEY_SCRIPT', 'oidc-passkey', 'passkey-step.ts')}
/** The sign-in page's passwordless sign-in: the passkey button and autofill (client/signin-passkey.ts). */
${constant('SIGNIN_PASSKEY_SCRIPT', 'oidc-signin', 'signin-passkey.ts')}
`,
  );
}

/** Every file the document can depend on: the Worker's sources (not the browser code), the locked dependencies, the scripts that build it. */
function documentInputs() {
  return [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL('./openapi-document.mjs', import.meta.url)),
    join(root, 'package-lock.json'),
    ...sourceFiles(join(root, 'src'))
      .filter((file) => !file.startsWith(clientDir) && !file.startsWith(hostedDir))
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
buildHostedScripts();
await buildDocument();
