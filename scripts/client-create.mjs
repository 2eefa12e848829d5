#!/usr/bin/env node
// `npm run client:create -- --name demo --redirect-uri http://localhost:3000/cb`
// registers an OpenID client with the local provider of `npm run dev`
// (docs/openid-provider.md), through its support API and the ADMIN_TOKEN of
// .dev.vars, and prints what a client library needs: issuer, client id and
// (once) the client secret.
//
// Flags: --name NAME (required), --redirect-uri URI (required, repeatable),
// --public (no secret; PKCE only), --first-party (no consent screen),
// --alg RS256|EdDSA, --post-logout-redirect-uri URI (repeatable: where
// /end-session may send the browser back), --url http://localhost:8787 (or --port N).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    public: { type: 'boolean', default: false },
    'first-party': { type: 'boolean', default: false },
    alg: { type: 'string', default: 'RS256' },
    url: { type: 'string' },
    port: { type: 'string', default: '8787' },
  },
});
const fail = (message) => {
  console.error(`client:create: ${message}`);
  process.exit(1);
};
if (!values.name || !values['redirect-uri']?.length) fail('usage: npm run client:create -- --name demo --redirect-uri http://localhost:3000/cb [--public] [--first-party] [--alg EdDSA] [--post-logout-redirect-uri URI]');

const base = values.url ?? `http://localhost:${values.port}`;
let adminToken = process.env.ADMIN_TOKEN;
if (!adminToken) {
  try {
    const devVars = readFileSync(fileURLToPath(new URL('../.dev.vars', import.meta.url)), 'utf8');
    adminToken = /^ADMIN_TOKEN=(.+)$/m.exec(devVars)?.[1]?.trim();
  } catch {
    /* reported below */
  }
}
if (!adminToken) fail('no ADMIN_TOKEN: run `npm run dev` once (it writes .dev.vars), or set ADMIN_TOKEN in the environment');

let response;
try {
  response = await fetch(`${base}/admin/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: values.name,
      redirectUris: values['redirect-uri'],
      type: values.public ? 'public' : 'confidential',
      firstParty: values['first-party'],
      idTokenSignedResponseAlg: values.alg,
      ...(values['post-logout-redirect-uri']?.length ? { postLogoutRedirectUris: values['post-logout-redirect-uri'] } : {}),
    }),
  });
} catch (error) {
  fail(`cannot reach ${base}: is \`npm run dev\` running? (${error.message})`);
}
const body = await response.json().catch(() => ({}));
if (response.status === 404) fail(`${base} has no provider: ISSUER_URL is unset (npm run dev sets it)`);
if (response.status !== 201) fail(`${response.status} ${JSON.stringify(body)}`);
const discovery = await fetch(`${base}/.well-known/openid-configuration`).then((r) => r.json());
console.log(JSON.stringify({ issuer: discovery.issuer, clientId: body.clientId, ...(body.clientSecret ? { clientSecret: body.clientSecret } : {}), redirectUris: body.redirectUris, ...(body.postLogoutRedirectUris?.length ? { postLogoutRedirectUris: body.postLogoutRedirectUris } : {}), type: body.type }, null, 2));
if (body.clientSecret) console.error('The client secret is shown only this once; store it now.');
