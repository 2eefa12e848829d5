// The OpenID Provider's code exchange for `npm run bench --routes oidc` (issue 19).
// Outside the measured phase: a first-party confidential client is registered,
// a few seeded TOTP users sign in through the hosted pages (one provider session
// each), and codes are issued by GET /authorize on those sessions (SSO, no page).
// A code lives 60 s, so they are issued just before the /token phase.
import { createHash, randomBytes } from 'node:crypto';
import { cpuSeconds, totpNow } from './lib.mjs';

const REDIRECT = 'https://rp.example/cb';
const CONNECTIONS = 50;

/** The app's vars for the provider: an issuer on loopback (http is allowed there) and the admin API for the client. */
export const oidcVars = { ISSUER_URL: 'http://localhost', ADMIN_TOKEN: randomBytes(32).toString('hex') };

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');
/** One PKCE pair for every code: the exchange's S256 check costs the same whatever the verifier. */
const VERIFIER = base64url(randomBytes(48));
const CHALLENGE = base64url(createHash('sha256').update(VERIFIER).digest());

async function must(response, what, status) {
  if (response.status !== status) throw new Error(`${what}: ${response.status} ${(await response.text()).slice(0, 500)}`);
  return response;
}

/**
 * The client's ID-token algorithm: RS256 (the default, as OpenID Connect requires of a
 * provider) unless BENCH_ID_TOKEN_ALG=EdDSA, which shows what the RSA signature costs.
 */
const ID_TOKEN_ALG = process.env.BENCH_ID_TOKEN_ALG === 'EdDSA' ? 'EdDSA' : 'RS256';

export async function registerClient(base) {
  const response = await fetch(`${base}/admin/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${oidcVars.ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', redirectUris: [REDIRECT], type: 'confidential', firstParty: true, idTokenSignedResponseAlg: ID_TOKEN_ALG }),
  });
  const client = await (await must(response, 'POST /admin/clients', 201)).json();
  return { ...client, basic: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}` };
}

function authorizePath(client) {
  const params = new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT, scope: 'openid profile', state: 's', nonce: 'n', code_challenge: CHALLENGE, code_challenge_method: 'S256' });
  return `/authorize?${params}`;
}

const hidden = (html, name) => {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no ${name} in the page: ${html.slice(0, 300)}`);
  return match[1].replace(/&amp;/g, '&');
};

/** A hosted sign-in (password, then the TOTP code): the browser's cookies, its provider session among them. */
export async function signIn(base, client, user, password) {
  const jar = new Map();
  const keep = (response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      if (/max-age=0/i.test(line) || at === pair.length - 1) jar.delete(pair.slice(0, at));
      else jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const post = async (path, fields) =>
    keep(
      await fetch(base + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin', Cookie: cookie() },
        body: new URLSearchParams(fields),
      }),
    );
  const start = keep(await must(await fetch(base + authorizePath(client), { redirect: 'manual' }), 'GET /authorize', 200));
  const page = await start.text();
  const afterPassword = await must(await post('/authorize/password', { ticket: hidden(page, 'ticket'), csrf: hidden(page, 'csrf'), username: user.username, password }), 'POST /authorize/password', 200);
  const codePage = await afterPassword.text();
  await must(await post('/authorize/otp', { ticket: hidden(codePage, 'ticket'), csrf: hidden(codePage, 'csrf'), code: totpNow(user.secret) }), 'POST /authorize/otp', 303);
  return cookie();
}

/**
 * Codes are issued for at most this long: a code lives 60 s, and the /token
 * phase (0.5 s warm-up, then the measured phase) spends the oldest first, so
 * on a loaded machine a preparation of `count` codes must not outlast their
 * life (a run whose codes had expired measured cheap 400s, not exchanges).
 */
const PREPARE_SECONDS = 35;

/**
 * Up to `count` codes by GET /authorize on the provider sessions (`cookies`),
 * 50 at a time, for at most PREPARE_SECONDS; returns the POST /token requests
 * (client_secret_basic, PKCE) and the figures of the preparation.
 */
export async function prepareCodes({ base, pids }, client, cookies, count) {
  const cpuBefore = cpuSeconds(pids);
  const prepared = [];
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let cursor = 0;
  const path = authorizePath(client);
  const t0 = performance.now();
  const worker = async () => {
    for (let i = cursor++; i < count && performance.now() - t0 < PREPARE_SECONDS * 1000; i = cursor++) {
      const sent = performance.now();
      let status = 0;
      let location = null;
      try {
        const response = await fetch(base + path, { redirect: 'manual', headers: { Cookie: cookies[i % cookies.length] } });
        await response.arrayBuffer();
        status = response.status;
        location = response.headers.get('Location');
      } catch {}
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
      const code = status === 303 && location ? new URL(location).searchParams.get('code') : null;
      if (!code) {
        errors++;
        continue;
      }
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER }).toString();
      prepared.push({ method: 'POST', path: '/token', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: client.basic }, body });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const options = { requests: latencies.length, errors, statuses, seconds: (performance.now() - t0) / 1000, latencies, exhausted: false, cpuSeconds: cpuSeconds(pids) - cpuBefore };
  return { prepared, options };
}
