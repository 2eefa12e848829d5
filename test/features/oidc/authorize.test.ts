import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { admin, authorizePath, Browser, form, ISSUER, opEnv, pkce, REDIRECT, registerClient, send, T0, type Client } from './support';
import { PAGE_STYLES_INTEGRITY, PAGE_STYLES_PATH } from '../../../src/http/page-assets.generated';
import { SIGNIN_PASSKEY_SCRIPT } from '../../../src/features/oidc/pages/scripts.generated';

afterEach(useRealTime);

const workerEnv = opEnv();
let confidential: Client;
let native: Client;
let challenge: string;

beforeAll(async () => {
  setNow(T0);
  confidential = await registerClient(workerEnv, { redirectUris: [REDIRECT, 'http://localhost:3000/cb'] });
  native = await registerClient(workerEnv, { type: 'public', redirectUris: ['http://127.0.0.1:8400/cb', 'http://[::1]:8400/cb'] });
  challenge = (await pkce()).challenge;
  useRealTime();
});

function expectErrorPage(answer: { status: number; location: string | null; text: string; headers: Headers }) {
  expect(answer.status).toBe(400);
  expect(answer.location).toBeNull();
  expect(answer.headers.get('Content-Type')).toMatch(/^text\/html/);
  expect(answer.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
}

function redirected(location: string | null) {
  const url = new URL(location!);
  return { url, params: Object.fromEntries(url.searchParams) };
}

describe('the provider is off without ISSUER_URL', () => {
  it('answers 404 on every OpenID route and leaves the JWKS without RSA keys', async () => {
    const off = { ...env } as Env;
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/authorize', '/userinfo']) {
      expect((await send(off, path)).status, path).toBe(404);
    }
    expect((await send(off, '/token', { method: 'POST', body: form({ grant_type: 'x' }), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).status).toBe(404);
    expect((await admin(off, '/admin/clients')).status).toBe(404);
    const keys = (await send(off, '/.well-known/jwks.json')).json.keys as { kty: string }[];
    expect(keys.every((key) => key.kty === 'OKP')).toBe(true);
  });
});

describe('the order of checks (API.md): nothing goes back to a client that is not known good', () => {
  it('an unknown client_id is our own HTML page, 400, never a redirect', async () => {
    expectErrorPage(await send(workerEnv, authorizePath('c_nobody', challenge)));
    expectErrorPage(await send(workerEnv, `/authorize?redirect_uri=${encodeURIComponent(REDIRECT)}`));
  });

  it('redirect URI tricks are refused with the page: an attacker cannot make us an open redirector', async () => {
    // Each is a way to get a code delivered to a URI the client did not register (RFC 9700 §4.1).
    const tricks = [
      'https://rp.example/cb/evil', // suffix
      'https://rp.example/c', // prefix
      'https://RP.example/cb', // different case (exact comparison)
      'https://rp.example/CB',
      'https://rp.example/cb#frag', // fragment
      'https://rp.example:8443/cb', // port
      'https://attacker@rp.example/cb', // userinfo
      'https://rp.example/cb/../evil', // path traversal
      'https://rp.example/cb?x=1', // extra query
      'http://rp.example/cb', // scheme downgrade
      'https://rp.example.attacker.test/cb',
      '',
    ];
    for (const uri of tricks) {
      const answer = await send(workerEnv, authorizePath(confidential.clientId, challenge, { redirect_uri: uri }));
      expect(answer.status, uri).toBe(400);
      expect(answer.location, uri).toBeNull();
    }
  });

  it('a loopback port may differ only for a public client on 127.0.0.1 or [::1] (RFC 8252 §7.3)', async () => {
    const ok = ['http://127.0.0.1:51234/cb', 'http://[::1]:61000/cb', 'http://127.0.0.1/cb'];
    for (const uri of ok) {
      const answer = await send(workerEnv, authorizePath(native.clientId, challenge, { redirect_uri: uri }));
      expect(answer.status, uri).toBe(200);
    }
    const refused = ['http://127.0.0.1:51234/cb/x', 'http://localhost:8400/cb', 'http://127.0.0.1:51234/cb#x', 'http://u@127.0.0.1:51234/cb', 'http://127.0.0.2:8400/cb'];
    for (const uri of refused) expect((await send(workerEnv, authorizePath(native.clientId, challenge, { redirect_uri: uri }))).status, uri).toBe(400);
    // A confidential client's localhost URI is exact, port included.
    expect((await send(workerEnv, authorizePath(confidential.clientId, challenge, { redirect_uri: 'http://localhost:3001/cb' }))).status).toBe(400);
    expect((await send(workerEnv, authorizePath(confidential.clientId, challenge, { redirect_uri: 'http://localhost:3000/cb' }))).status).toBe(200);
  });

  it('later errors go back to the client with error, state and iss (RFC 9207) on every redirect', async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
      [{ request_uri: 'https://attacker.test/r' }, 'request_uri_not_supported'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ response_type: 'code id_token' }, 'unsupported_response_type'],
      [{ scope: 'profile' }, 'invalid_request'],
      // PKCE downgrade: missing, plain, or a malformed challenge.
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: undefined }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ response_mode: 'fragment' }, 'invalid_request'],
      [{ prompt: 'none' }, 'login_required'],
    ];
    for (const [extra, error] of cases) {
      const answer = await send(workerEnv, authorizePath(confidential.clientId, challenge, extra));
      expect(answer.status, JSON.stringify(extra)).toBe(303);
      const { url, params } = redirected(answer.location);
      expect(url.origin + url.pathname).toBe(REDIRECT);
      expect(params).toMatchObject({ error, state: 'st-1', iss: ISSUER });
      expect(params.code).toBeUndefined();
    }
  });

  it('a parameter sent twice is invalid_request, not a guess at which copy counts', async () => {
    const answer = await send(workerEnv, `${authorizePath(confidential.clientId, challenge)}&code_challenge=${challenge}`);
    expect(redirected(answer.location).params).toMatchObject({ error: 'invalid_request', iss: ISSUER });
  });

  it('unknown scopes are ignored, and POST /authorize takes the same form', async () => {
    const browser = new Browser(workerEnv);
    const page = await browser.get(authorizePath(confidential.clientId, challenge, { scope: 'openid email phone admin' }));
    expect(page.status).toBe(200);
    const posted = await send(workerEnv, '/authorize', {
      method: 'POST',
      body: new URL(`${ISSUER}${authorizePath(confidential.clientId, challenge)}`).searchParams,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(posted.status).toBe(200);
    expect(posted.text).toContain('autocomplete="current-password"');
  });
});

describe('the sign-in page', () => {
  it('has the stable markup, a strict CSP and no caching', async () => {
    const answer = await new Browser(workerEnv).get(authorizePath(confidential.clientId, challenge));
    const csp = answer.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(answer.headers.get('Cache-Control')).toBe('no-store');
    expect(answer.text).toMatch(/<form method="post" action="\/authorize\/password">/);
    // Issue 21 (API.md, stable markup): the username field also offers passkeys ("username webauthn").
    expect(answer.text).toMatch(/autocomplete="username webauthn"/);
    expect(answer.text).toMatch(/type="password" autocomplete="current-password"/);
    // Two forms (the password, and "Sign in with a passkey"), each with one submit button.
    const forms = answer.text.match(/<form [\s\S]*?<\/form>/g)!;
    expect(forms.map((f) => /action="([^"]+)"/.exec(f)![1])).toEqual(['/authorize/password', '/authorize/passkey-signin']);
    for (const f of forms) expect(f.match(/type="submit"/g)).toHaveLength(1);
    expect(answer.text).toMatch(/<label for="username">/);
    // The only scripts: the sign-in options (JSON, not executed) and the page's own under the CSP nonce
    // (a file of the static assets, pinned by its integrity, since the hosted pages' scripts left the bundle).
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    expect(answer.text.match(/<script[^>]*>/g)).toEqual([
      '<script type="application/json" id="signin-passkey-options">',
      `<script src="${SIGNIN_PASSKEY_SCRIPT.path}" integrity="${SIGNIN_PASSKEY_SCRIPT.integrity}" nonce="${nonce}">`,
    ]);
    const cookie = answer.headers.getSetCookie().find((line) => line.startsWith('__Host-edge-mfa-flow='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
  });

  it("links the account page's stylesheet, a file of the static assets, under the response's nonce", async () => {
    const answer = await new Browser(workerEnv).get(authorizePath(confidential.clientId, challenge));
    const nonce = /style-src 'nonce-([^']+)'/.exec(answer.headers.get('Content-Security-Policy')!)![1]!;
    expect(answer.text).toContain(`<link rel="stylesheet" href="${PAGE_STYLES_PATH}" integrity="${PAGE_STYLES_INTEGRITY}" nonce="${nonce}" />`);
    expect(answer.text).not.toMatch(/<style/);
  });
});
