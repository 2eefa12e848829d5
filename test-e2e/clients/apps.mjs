// The applications of test-e2e/clients.mjs, each built from a block of
// docs/clients.md (`<!-- test:clients NAME -->` before a fenced block) with only
// these changes: the page's example hosts become this machine's ports, and the client's id
// and secret come from `npm run client:create`. Each app answers the question
// "who is signed in, and how (acr)?" at the page the browser lands on.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_ISSUER = 'https://auth.example.com';

/** The file the configurations a user copies live in (and are read from here). */
export const CLIENTS_DOC = 'docs/clients.md';

/** The `<!-- test:clients NAME -->` blocks of docs/clients.md, by name. */
export function clientBlocks() {
  const page = readFileSync(join(root, CLIENTS_DOC), 'utf8');
  const blocks = new Map();
  for (const match of page.matchAll(/<!-- test:clients ([a-z-]+) -->\n```[a-z]*\n([\s\S]*?)\n```/g)) blocks.set(match[1], match[2]);
  return blocks;
}

/** A TypeScript module bundled for Node (its imports resolved from the repository's node_modules), then imported. */
async function importTs(work, name, contents) {
  const out = await build({ stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: `${CLIENTS_DOC} ${name}` }, bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  const file = join(work, `${name}.mjs`);
  writeFileSync(file, out.outputFiles[0].text);
  return import(pathToFileURL(file).href);
}

/** A fetch handler (Request -> Response) served by node:http on localhost:port. */
function serveFetch(port, handler) {
  const server = createServer(async (incoming, outgoing) => {
    try {
      const chunks = [];
      for await (const chunk of incoming) chunks.push(chunk);
      const headers = new Headers();
      for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.append(incoming.rawHeaders[i], incoming.rawHeaders[i + 1]);
      const body = ['GET', 'HEAD'].includes(incoming.method) ? undefined : Buffer.concat(chunks);
      const response = await handler(new Request(`http://localhost:${port}${incoming.url}`, { method: incoming.method, headers, body }));
      const out = {};
      response.headers.forEach((value, key) => {
        if (key !== 'set-cookie') out[key] = value;
      });
      outgoing.writeHead(response.status, { ...out, 'set-cookie': response.headers.getSetCookie() });
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      outgoing.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error?.message ?? error));
    }
  });
  return new Promise((resolve) => server.listen(port, 'localhost', () => resolve({ stop: () => new Promise((done) => server.close(done)) })));
}

const json = (page) => {
  try {
    return JSON.parse(page.body);
  } catch {
    return null;
  }
};

/** Auth.js: docs/clients.md's provider (and callbacks) in @auth/core's Auth(), at /api/auth. */
export async function authjsApp({ work, block, name, port, issuer, client }) {
  process.env.AUTH_EDGE_MFA_ID = client.clientId;
  process.env.AUTH_EDGE_MFA_SECRET = client.clientSecret;
  const { config } = await importTs(work, name, `export const config = {\n${block.replaceAll(EXAMPLE_ISSUER, issuer)}\n};`);
  const { Auth } = await import('@auth/core');
  const errors = [];
  const options = { ...config, basePath: '/api/auth', secret: 'test-e2e-clients-auth-secret-0123456789', trustHost: true, logger: { error: (error) => errors.push(error), warn: () => {}, debug: () => {} } };
  const server = await serveFetch(port, (request) => Auth(request, options));
  const app = `http://localhost:${port}`;
  return {
    ...server,
    errors,
    /** Auth.js starts a sign-in with a POST carrying its CSRF token, then comes back to callbackUrl: the session as JSON. */
    async start(browser) {
      const csrf = json(await browser.navigate(`${app}/api/auth/csrf`))?.csrfToken;
      return browser.navigate(`${app}/api/auth/signin/edge-mfa`, { method: 'POST', form: { csrfToken: csrf, callbackUrl: `${app}/api/auth/session` } });
    },
    async outcome(browser) {
      const session = json(await browser.navigate(`${app}/api/auth/session`));
      return session?.user ? { signedIn: true, username: session.user.name, acr: session.acr } : { signedIn: false };
    },
  };
}

/** @hono/oidc-auth: docs/clients.md's app (a module exporting the Hono app), with its OIDC_* variables. */
export async function honoApp({ work, block, name, port, issuer, client }) {
  Object.assign(process.env, { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: client.clientId, OIDC_CLIENT_SECRET: client.clientSecret, OIDC_AUTH_SECRET: 'test-e2e-clients-hono-secret-0123456789' });
  const { default: app } = await importTs(work, name, block);
  const server = await serveFetch(port, (request) => app.fetch(request));
  const home = `http://localhost:${port}/`;
  return {
    ...server,
    start: (browser) => browser.navigate(home),
    async outcome(browser) {
      const page = await browser.navigate(home);
      const auth = page.status === 200 ? json(page) : null;
      return auth?.sub ? { signedIn: true, sub: auth.sub, acr: auth.acr } : { signedIn: false, status: page.status };
    },
  };
}

/** A child process we started, ended with its whole group. */
function child(command, args, options, log) {
  const process_ = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  process_.stdout.on('data', (chunk) => log.push(chunk.toString()));
  process_.stderr.on('data', (chunk) => log.push(chunk.toString()));
  return {
    process: process_,
    stop: () =>
      new Promise((resolve) => {
        if (process_.exitCode !== null) return resolve();
        process_.on('exit', resolve);
        try {
          process.kill(-process_.pid, 'SIGTERM');
        } catch {
          resolve();
        }
      }),
  };
}

async function waitFor(url, spawned, log) {
  for (let tries = 0; tries < 100; tries += 1) {
    if (spawned.process.exitCode !== null) throw new Error(`${url}: the server exited:\n${log.join('')}`);
    try {
      await fetch(url, { redirect: 'manual' });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${url} did not answer:\n${log.join('')}`);
}

export const PYTHON = process.env.CLIENTS_PYTHON ?? '/usr/bin/python3';

/** authlib: docs/clients.md's module (its example hosts made local) behind test-e2e/clients/authlib-app.py. */
export async function authlibApp({ work, block, name, port, issuer, client, acr }) {
  const module = join(work, `${name.replace(/-/g, '_')}.py`);
  writeFileSync(module, block.replaceAll(EXAMPLE_ISSUER, issuer).replaceAll('https://app.example.com/cb', `http://localhost:${port}/cb`));
  const log = [];
  const env = { ...process.env, EDGE_MFA_ID: client.clientId, EDGE_MFA_SECRET: client.clientSecret, PYTHONDONTWRITEBYTECODE: '1' };
  const spawned = child(PYTHON, [join(root, 'test-e2e/clients/authlib-app.py'), module, String(port), acr ?? ''], { env }, log);
  await waitFor(`http://localhost:${port}/`, spawned, log);
  let last = null;
  return {
    stop: spawned.stop,
    log,
    start: (browser) => browser.navigate(`http://localhost:${port}/login`),
    /** The callback's answer: docs/clients.md's finish() result, or its refusal. */
    remember(page) {
      last = page;
    },
    async outcome() {
      const claims = last?.status === 200 ? json(last) : null;
      return claims?.sub ? { signedIn: true, sub: claims.sub, username: claims.preferred_username, acr: claims.acr } : { signedIn: false, status: last?.status, detail: last?.body };
    },
  };
}

/**
 * mod_auth_openidc: docs/clients.md's Apache block (and, for `phr`, its second block
 * in place of the first's <Location>) in an httpd.conf of our own, run as
 * `apache2 -X` on localhost:port. The protected page names the claims in a
 * response header (mod_headers reads the module's OIDC_CLAIM_* variables).
 */
export async function apacheApp({ work, blocks, name, port, issuer, client }) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'htdocs/protected'), { recursive: true });
  writeFileSync(join(dir, 'htdocs/protected/index.html'), '<p>protected</p>\n');
  writeFileSync(join(dir, 'htdocs/index.html'), '<p>home</p>\n');
  let config = blocks.base;
  if (blocks.phr) config = config.replace(/<Location \/protected\/>[\s\S]*<\/Location>/, blocks.phr);
  config = config
    .replaceAll(EXAMPLE_ISSUER, issuer)
    .replaceAll('https://www.example.com', `http://localhost:${port}`)
    .replace(/^OIDCClientID .*$/m, `OIDCClientID ${client.clientId}`)
    .replace(/^OIDCClientSecret .*$/m, `OIDCClientSecret ${client.clientSecret}`)
    .replace(/^OIDCCryptoPassphrase .*$/m, `OIDCCryptoPassphrase test-e2e-clients-${port}-passphrase-0123456789`);
  const modules = ['mpm_event', 'authz_core', 'authz_user', 'authn_core', 'headers', 'mime', 'dir', 'auth_openidc'];
  const apacheModules = process.env.APACHE_MODULES ?? '/usr/lib/apache2/modules';
  writeFileSync(
    join(dir, 'httpd.conf'),
    [
      `ServerRoot ${dir}`,
      `Listen localhost:${port}`,
      `ServerName localhost:${port}`,
      `PidFile ${dir}/httpd.pid`,
      `ErrorLog ${dir}/error.log`,
      'LogLevel warn',
      ...modules.map((m) => `LoadModule ${m}_module ${apacheModules}/mod_${m}.so`),
      'TypesConfig /etc/mime.types',
      `DocumentRoot ${dir}/htdocs`,
      'DirectoryIndex index.html',
      'Header always set X-Claims "sub=%{OIDC_CLAIM_sub}e acr=%{OIDC_CLAIM_acr}e"',
      '',
      config,
      '',
    ].join('\n'),
  );
  const log = [];
  const spawned = child(process.env.APACHE ?? '/usr/sbin/apache2', ['-f', join(dir, 'httpd.conf'), '-X'], {}, log);
  await waitFor(`http://localhost:${port}/`, spawned, log);
  const page = `http://localhost:${port}/protected/`;
  return {
    stop: spawned.stop,
    log,
    errorLog: () => {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    },
    start: (browser) => browser.navigate(page),
    async outcome(browser) {
      // Only the protected page's own answer counts: a redirect to the provider is "not signed in".
      const response = await browser.request(page);
      const claims = /sub=(\S*) acr=(\S*)/.exec(response.headers.get('x-claims') ?? '');
      return response.status === 200 && claims ? { signedIn: true, sub: claims[1], acr: claims[2] } : { signedIn: false, status: response.status };
    },
  };
}
