#!/usr/bin/env node
// `npm run test:clients`: the client configurations of docs/clients.md, run as
// written against `wrangler dev`, by the client libraries themselves:
// Auth.js (@auth/core), mod_auth_openidc (Apache), Python's authlib and
// @hono/oidc-auth. Every configuration is read from that page (the blocks
// after `<!-- test:clients NAME -->`), so what a user copies and this check
// cannot drift; the only changes are the example hosts (made this machine's
// ports) and the client id and secret, which come from the page's one-liner
// `npm run client:create` (scripts/client-create.mjs).
//
// For each library, three people sign in through the hosted pages, driven by
// plain HTTP (test-e2e/clients/browser.mjs: a cookie jar, redirects and form
// posts, as a browser without a screen):
//   1. password + TOTP, the plain configuration: signed in, acr "aal2";
//   2. a synced passkey, the configuration that demands acr_values=phr: acr "phr"
//      (the passkey is the repository's software authenticator);
//   3. password + TOTP only, the phr configuration: refused, no session.
//
// Needs (Debian): apache2 libapache2-mod-auth-openidc python3-authlib. Ports:
// CLIENTS_E2E_PORT (default 8971) for wrangler dev and the next 9 for the apps.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apacheApp, authjsApp, authlibApp, clientBlocks, CLIENTS_DOC, honoApp, PYTHON } from './clients/apps.mjs';
import { Browser, formsOf, textOf } from './clients/browser.mjs';
import { makePerson, newcomer, signInOnHostedPages } from './clients/person.mjs';
import { waitForHealth } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const outDir = join(root, 'e2e-output');
const PORT = Number(process.env.CLIENTS_E2E_PORT ?? 8971);
const base = `http://localhost:${PORT}`;
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`  ${ok ? '✓' : '✗'} ${name}${!ok && detail ? `: ${detail}` : ''}`);
}

function needs() {
  const missing = [];
  if (!existsSync(process.env.APACHE ?? '/usr/sbin/apache2')) missing.push('apache2');
  if (!existsSync(join(process.env.APACHE_MODULES ?? '/usr/lib/apache2/modules', 'mod_auth_openidc.so'))) missing.push('libapache2-mod-auth-openidc');
  if (spawnSync(PYTHON, ['-c', 'import authlib, requests'], { stdio: 'ignore' }).status !== 0) missing.push('python3-authlib python3-requests');
  if (missing.length) throw new Error(`missing: apt-get install -y ${missing.join(' ')} (or set APACHE, APACHE_MODULES, CLIENTS_PYTHON)`);
}

/** The one-liner of docs/clients.md, `npm run client:create -- --name … --redirect-uri …`, against this server. */
function createClient(adminToken, name, redirectUris, postLogoutRedirectUris = []) {
  const args = [join(root, 'scripts/client-create.mjs'), '--url', base, '--name', name, ...redirectUris.flatMap((uri) => ['--redirect-uri', uri]), ...postLogoutRedirectUris.flatMap((uri) => ['--post-logout-redirect-uri', uri])];
  const run = spawnSync(process.execPath, args, { cwd: root, env: { ...env, ADMIN_TOKEN: adminToken }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`client:create failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/**
 * One sign-in: a fresh browser starts at the app, walks the hosted pages and
 * lands back at the app; then the app says who is signed in. A landing page
 * that fails (mod_auth_openidc's error page on a refusal) is recorded, not thrown.
 */
async function signIn(app, person, factor) {
  const browser = new Browser();
  let landed = null;
  let trouble = null;
  try {
    landed = await signInOnHostedPages(browser, await app.start(browser), person, factor);
    app.remember?.(landed);
  } catch (error) {
    trouble = error.message;
  }
  const outcome = await app.outcome(browser);
  const callback = browser.visited.find((url) => /[?&](code|error)=/.test(url) && !url.startsWith(base));
  return { ...outcome, trouble, landed, browser, error: callback ? new URL(callback).searchParams.get('error') : null };
}

/** The person the app says is signed in: by `sub` (the user id) or, where the app keeps only the name, `preferred_username`. */
const isPerson = (outcome, person) => (outcome.sub === undefined || outcome.sub === person.id) && (outcome.username === undefined || outcome.username === person.username) && (outcome.sub ?? outcome.username) !== undefined;
const show = (outcome) => JSON.stringify({ ...outcome, browser: undefined, landed: outcome.landed && `${outcome.landed.status} ${outcome.landed.url} ${textOf(outcome.landed.body).slice(0, 160)}` }).slice(0, 600);

async function runLibrary(label, apps) {
  console.log(label);
  // The plain configurations keep acr only where the page's block does (authlib, Apache): elsewhere it is not in the session.
  const person = await makePerson(base);
  const plain = await signIn(apps.plain, person, 'otp');
  check(`${label}: password + TOTP signs the person in (acr aal2 where kept)`, plain.signedIn && isPerson(plain, person) && [undefined, 'aal2'].includes(plain.acr) && plain.error === null, show(plain));
  if (apps.logout) await apps.logout(plain.browser);
  const strong = await makePerson(base, { passkey: true });
  const phr = await signIn(apps.phr, strong, 'passkey');
  check(`${label}: acr_values=phr, a passkey signs the person in with acr phr`, phr.signedIn && isPerson(phr, strong) && phr.acr === 'phr', show(phr));
  const weak = await signIn(apps.phr, await makePerson(base), 'otp');
  check(`${label}: acr_values=phr refuses a TOTP-only account (unmet_authentication_requirements, no session)`, !weak.signedIn && weak.error === 'unmet_authentication_requirements', show(weak));
}

async function main() {
  needs();
  const blocks = clientBlocks();
  for (const name of ['authjs', 'authjs-phr', 'apache', 'apache-phr', 'apache-logout', 'authlib', 'hono', 'hono-phr']) {
    if (!blocks.has(name)) throw new Error(`${CLIENTS_DOC} has no <!-- test:clients ${name} --> block`);
  }
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'edge-mfa-clients-'));
  const persist = join(work, 'state');
  const envFile = join(work, 'secrets.env');
  const secret = () => randomBytes(32).toString('hex');
  const adminToken = secret();
  writeFileSync(envFile, `JWT_SECRET=${secret()}\nTOTP_ENCRYPTION_KEY=${secret()}\nADMIN_TOKEN=${adminToken}\n`, { mode: 0o600 });
  const running = [];
  let server;
  const started = Date.now();
  try {
    const migrate = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: root, env, encoding: 'utf8' });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
    const logFd = openSync(join(outDir, 'wrangler-clients.log'), 'w');
    server = spawn(
      process.execPath,
      [wrangler, 'dev', '--ip', 'localhost', '--port', String(PORT), '--inspector-port', String(PORT + 9), '--persist-to', persist, '--env-file', envFile, '--show-interactive-dev-session=false', '--live-reload=false',
        '--var', `ISSUER_URL:${base}`, '--var', 'ENVIRONMENT:development', '--var', 'WEBAUTHN_RP_ID:localhost', '--var', `WEBAUTHN_ORIGINS:${base}`],
      { cwd: root, env, stdio: ['ignore', logFd, logFd], detached: true },
    );
    console.log(`wrangler dev on ${base} (log: e2e-output/wrangler-clients.log)`);
    await waitForHealth(base, server);
    console.log(`ready in ${Math.round((Date.now() - started) / 1000)} s`);

    const port = (n) => PORT + n;
    const app = async (make, options) => {
      const made = await make({ work, issuer: base, ...options });
      running.push(made);
      return made;
    };
    const local = (n, path) => `http://localhost:${port(n)}${path}`;

    const authjs = createClient(adminToken, 'Auth.js', [local(1, '/api/auth/callback/edge-mfa'), local(2, '/api/auth/callback/edge-mfa')]);
    const firstApp = await app(authjsApp, { name: 'authjs', block: blocks.get('authjs'), port: port(1), client: authjs });
    await runLibrary('Auth.js (@auth/core)', {
      plain: firstApp,
      phr: await app(authjsApp, { name: 'authjs-phr', block: blocks.get('authjs-phr'), port: port(2), client: authjs }),
    });

    // The page's sign-out: the client registered with --post-logout-redirect-uri, and the link to
    // mod_auth_openidc's redirect URI with ?logout=; it sends the ID token to /end-session as
    // id_token_hint, the provider session ends, and the browser comes back to the registered page.
    const signOut = blocks.get('apache-logout').replaceAll('https://www.example.com', local(3, '')).replaceAll(encodeURIComponent('https://www.example.com'), encodeURIComponent(local(3, '')));
    const afterLogout = /--post-logout-redirect-uri (\S+)/.exec(signOut)?.[1];
    const logoutLink = /(\S+\/protected\/redirect_uri\?logout=\S+)/.exec(signOut)?.[1];
    // Someone new: signs up on the hosted pages from Auth.js, types the key into an authenticator, saves the recovery codes.
    const fresh = newcomer(base);
    const signedUp = await signIn(firstApp, fresh, 'otp');
    check('Auth.js (@auth/core): a newcomer signs up, enrolls TOTP and sees the recovery codes on the hosted pages, and is signed in', signedUp.signedIn && signedUp.username === fresh.username && fresh.recoveryCodesSeen === 10, show(signedUp));

    const apache = createClient(adminToken, 'Apache', [local(3, '/protected/redirect_uri'), local(4, '/protected/redirect_uri')], afterLogout ? [afterLogout] : []);
    const apachePlain = await app(apacheApp, { name: 'apache', blocks: { base: blocks.get('apache') }, port: port(3), client: apache });
    const apachePhr = await app(apacheApp, { name: 'apache-phr', blocks: { base: blocks.get('apache'), phr: blocks.get('apache-phr') }, port: port(4), client: apache });
    const logout = async (browser) => {
      const out = logoutLink ? await browser.navigate(logoutLink) : null;
      const ended = browser.visited.some((url) => url.startsWith(`${base}/end-session?`) && new URL(url).searchParams.has('id_token_hint'));
      const again = await browser.navigate(local(3, '/protected/'));
      check(
        "mod_auth_openidc (Apache): docs/clients.md's sign-out link ends the provider session (/end-session with id_token_hint) and comes back",
        Boolean(afterLogout) && ended && out?.url === afterLogout && formsOf(again.body).some((f) => f.action === '/authorize/password'),
        `${afterLogout} ${logoutLink} -> ${out?.status} ${out?.url}; then ${again.url}`,
      );
    };
    await runLibrary('mod_auth_openidc (Apache)', { plain: apachePlain, phr: apachePhr, logout });

    const authlib = createClient(adminToken, 'authlib', [local(5, '/cb'), local(6, '/cb')]);
    await runLibrary('authlib (Python)', {
      plain: await app(authlibApp, { name: 'authlib', block: blocks.get('authlib'), port: port(5), client: authlib }),
      phr: await app(authlibApp, { name: 'authlib-phr', block: blocks.get('authlib'), port: port(6), client: authlib, acr: 'phr' }),
    });

    const hono = createClient(adminToken, 'Hono', [local(7, '/callback'), local(8, '/callback')]);
    await runLibrary('@hono/oidc-auth', {
      plain: await app(honoApp, { name: 'hono', block: blocks.get('hono'), port: port(7), client: hono }),
      phr: await app(honoApp, { name: 'hono-phr', block: blocks.get('hono-phr'), port: port(8), client: hono }),
    });

    // Step-up across two applications in one browser: signed in with a code at the first, the
    // second demanding phr signs in again (docs/openid-provider.md) with the passkey offered
    // alone (no code form), and gets acr phr.
    console.log('step-up');
    const person = await makePerson(base, { passkey: true });
    const browser = new Browser();
    await signInOnHostedPages(browser, await firstApp.start(browser), person, 'otp');
    const first = await firstApp.outcome(browser);
    const steps = browser.visited.length;
    browser.offered = [];
    const landed = await signInOnHostedPages(browser, await apachePhr.start(browser), person, 'passkey');
    const second = await apachePhr.outcome(browser);
    const asked = browser.visited.slice(steps).filter((url) => url.startsWith(`${base}/authorize/`)).map((url) => new URL(url).pathname);
    check('step-up: Auth.js signed in with a code, then mod_auth_openidc demanding phr signs in again with the passkey (no code offered) and gets acr phr', first.signedIn && second.signedIn && second.acr === 'phr' && second.sub === person.id && asked.includes('/authorize/passkey') && !browser.offered.includes('/authorize/otp'), show({ ...second, asked, offered: browser.offered, landed }));
  } finally {
    for (const made of running) await made.stop().catch(() => {});
    if (server && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 5000);
        server.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`clients: ${Math.round((Date.now() - started) / 1000)} s`);
}

main().then(
  () => {
    console.log(`\nclients: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  },
  (error) => {
    console.error(error);
    console.log(`\nclients: ${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  },
);
