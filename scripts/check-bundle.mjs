#!/usr/bin/env node
// Checks the Worker exactly as `wrangler deploy` bundles it: minified, with
// wrangler.toml's [alias] stand-ins (src/lib/zod-bundle.ts,
// src/lib/zod-json-schema-stub.ts, src/lib/zod-to-openapi-bundle.ts,
// src/webauthn/oslo-sha2.ts), which the vitest pool does not apply. Prints the
// gzipped size the way bench/run.mjs measures it (every .js/.wasm of `deploy
// --dry-run --outdir`, gzip -9; the static assets of public/, uploaded beside
// the Worker, are not part of it) and fails over BUNDLE_BUDGET_KIB
// (bench/budget.mjs); then serves that bundle with `wrangler dev` and walks a
// short journey, checks that GET /openapi.json is byte for byte the document
// built from the declarations without the aliases, and that the page's script
// and stylesheet are served as their integrity says.
// Usage: node scripts/check-bundle.mjs [--size-only]
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { outDir, runWrangler, startWorker, totpNow } from '../bench/lib.mjs';
import { openApiDocumentFromDeclarations } from './openapi-document.mjs';
import { BUNDLE_BUDGET_KIB } from '../bench/budget.mjs';

mkdirSync(outDir, { recursive: true }); // wrangler dev's log: bench/out/check-bundle.log
const work = mkdtempSync(join(tmpdir(), 'edge-mfa-bundle-'));
const failures = [];
const check = (what, ok) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};
try {
  const out = join(work, 'out');
  await runWrangler(['deploy', '--dry-run', '--outdir', out, '-c', 'wrangler.toml']);
  let raw = 0;
  let gzipped = 0;
  for (const entry of readdirSync(out)) {
    const file = join(out, entry);
    if (!statSync(file).isFile() || !/\.(m?js|wasm)$/.test(entry)) continue;
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzipped += gzipSync(bytes, { level: 9 }).length;
  }
  check(`bundle ${(gzipped / 1024).toFixed(1)} KiB gzipped (${(raw / 1024).toFixed(1)} KiB raw), budget ${BUNDLE_BUDGET_KIB} KiB`, gzipped / 1024 <= BUNDLE_BUDGET_KIB);
  if (!process.argv.includes('--size-only')) await journey(join(work, 'state'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) process.exit(1);

async function journey(state) {
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, '-c', 'wrangler.toml']);
  // ENVIRONMENT: a local run of wrangler.toml's localhost WebAuthn settings (src/settings/webauthn.ts refuses them otherwise).
  const vars = { JWT_SECRET: `check-bundle-jwt-${'x'.repeat(32)}`, TOTP_ENCRYPTION_KEY: `check-bundle-totp-${'y'.repeat(32)}`, ENVIRONMENT: 'development' };
  const expectedDocument = JSON.stringify(await openApiDocumentFromDeclarations());
  const worker = await startWorker('check-bundle', 'wrangler.toml', { vars, readyPath: '/health', persistTo: state });
  try {
    const call = async (method, path, { body, token, headers = {} } = {}) => {
      const response = await fetch(worker.base + path, {
        method,
        headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: response.status, text, json };
    };
    check('GET /openapi.json is the document of the declarations, byte for byte', (await call('GET', '/openapi.json')).text === expectedDocument);
    // A name of its own each run: the local D1 persists between runs, and a second run's
    // account would already be enrolled (/create-otp 403, then no QR code to check).
    const user = { username: `check-bundle-${Date.now().toString(36)}`, password: 'correct horse battery staple' };
    check('POST /register 201', (await call('POST', '/register', { body: user })).status === 201);
    check('POST /register with a bad body 400', (await call('POST', '/register', { body: { username: 1 } })).status === 400);
    const login = await call('POST', '/login', { body: user });
    check('POST /login 200', login.status === 200);
    const created = await call('POST', '/create-otp', { token: login.json?.token });
    check('POST /create-otp 201', created.status === 201);
    const qr = await call('GET', '/qrcode', { token: login.json?.token, headers: { Accept: 'image/svg+xml' } });
    // qrcode-svg writes an XML declaration before the <svg> element.
    check('GET /qrcode as SVG 200', qr.status === 200 && /^(<\?xml[^>]*\?>\s*)?<svg[\s>]/.test(qr.text));
    const verified = await call('POST', '/otp-verify', { token: login.json?.token, body: { code: totpNow(created.json?.secret ?? '') } });
    check('POST /otp-verify 200', verified.status === 200 && verified.json?.authorized === true);
    check('GET /me 200', (await call('GET', '/me', { token: verified.json?.token })).status === 200);
    const refreshed = await call('POST', '/refresh', { body: { refreshToken: verified.json?.refreshToken } });
    check('POST /refresh 200', refreshed.status === 200);
    check('GET /.well-known/jwks.json 200', (await call('GET', '/.well-known/jwks.json')).status === 200);
    const options = await call('POST', '/webauthn/register/options', { token: refreshed.json?.token, body: {} });
    check('POST /webauthn/register/options 200', options.status === 200);
    const forged = { id: 'AA', rawId: 'AA', type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: 'AA', attestationObject: 'AA' } };
    const refused = await call('POST', '/webauthn/register/verify', { token: refreshed.json?.token, body: { challengeId: options.json?.challengeId, response: forged } });
    check('POST /webauthn/register/verify with a forged response is a 4xx', refused.status >= 400 && refused.status < 500);
    const page = await call('GET', '/', { headers: { Accept: 'text/html' } });
    check('GET / serves the page', page.status === 200 && page.text.includes('<script'));
    // Its script and stylesheet, static assets (wrangler.toml [assets]), with the integrity the page names.
    for (const [tag, attribute, type] of [['script', 'src', /javascript/], ['link', 'href', /^text\/css/]]) {
      const element = new RegExp(`<${tag} [^>]*${attribute}="(/assets/[^"]+)" integrity="(sha384-[^"]+)"`).exec(page.text);
      const response = element ? await fetch(worker.base + element[1]) : null;
      const bytes = response?.ok ? Buffer.from(await response.arrayBuffer()) : null;
      const digest = bytes ? `sha384-${createHash('sha384').update(bytes).digest('base64')}` : null;
      check(`GET the page's ${tag} ${element?.[1]} 200, ${type}, as its integrity says`, !!element && !!bytes && type.test(response.headers.get('Content-Type') ?? '') && digest === element[2]);
    }
    check('an unknown path 404', (await call('GET', '/no-such-path')).status === 404);
  } finally {
    await worker.stop();
  }
}
