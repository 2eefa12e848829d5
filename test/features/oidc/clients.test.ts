/**
 * What the four client libraries of docs/clients.md rely on (npm run test:clients runs
 * the libraries themselves; these pin the provider's side in the pool):
 * - Auth.js (@auth/core 0.41) throws at its callback when discovery has no
 *   `userinfo_endpoint`, and by default sends neither `state` nor `nonce`
 *   (PKCE only): oauth4webapi then refuses an ID token that carries a nonce.
 * - @hono/oidc-auth (1.8) throws when discovery has no `scopes_supported`,
 *   and with OIDC_SCOPES unset asks for every scope listed there: each must
 *   be one /authorize accepts, and the sign-in must go through (a consent
 *   page for `offline_access`, then a refresh token).
 * - mod_auth_openidc, authlib, Auth.js and @hono/oidc-auth all authenticate
 *   with client_secret_basic by default: discovery must list it.
 */
import { decodeJwt } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { Browser, type Client, enrolled, type Enrolled, exchangeCode, opEnv, pkce, REDIRECT, registerClient, send, signIn, stepFields, T0 } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();
let user: Enrolled;
let firstParty: Client;
let thirdParty: Client;
/** Each sign-in uses the next TOTP step, so no code is a replay. */
let clock = T0 + 3000;

beforeAll(async () => {
  user = await enrolled(workerEnv, clock);
  firstParty = await registerClient(workerEnv, { firstParty: true, name: 'Auth.js app' });
  thirdParty = await registerClient(workerEnv, { name: 'Hono app' });
  useRealTime();
}, 60_000);

async function discovery() {
  return (await send(workerEnv, '/.well-known/openid-configuration')).json as Record<string, unknown>;
}

describe('discovery, as the four client libraries read it', () => {
  it('Auth.js needs userinfo_endpoint; @hono/oidc-auth needs scopes_supported; every library defaults to client_secret_basic', async () => {
    const metadata = await discovery();
    expect(metadata.userinfo_endpoint).toMatch(/\/userinfo$/);
    expect(Array.isArray(metadata.scopes_supported) && (metadata.scopes_supported as string[]).length).toBeGreaterThan(0);
    expect(metadata.scopes_supported).toContain('openid');
    expect(metadata.token_endpoint_auth_methods_supported).toContain('client_secret_basic');
    expect(metadata.response_types_supported).toContain('code');
  });
});

describe('Auth.js: its default authorization request (PKCE only: no state, no nonce)', () => {
  it('signs in, the redirect carries no state, and the ID token no nonce (oauth4webapi refuses an unexpected one)', async () => {
    clock += 30;
    const { verifier, challenge } = await pkce();
    // What @auth/core 0.41 sends for a `type: 'oidc'` provider with default checks.
    const path = `/authorize?${new URLSearchParams({ response_type: 'code', client_id: firstParty.clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid profile email' })}`;
    const answer = await signIn(new Browser(workerEnv), user, path, clock);
    expect(answer.status, answer.text.slice(0, 300)).toBe(303);
    const back = new URL(answer.location!);
    expect(back.searchParams.has('state')).toBe(false);
    setNow(clock + 1);
    const tokens = await exchangeCode(workerEnv, firstParty, verifier, answer.location);
    expect(tokens.status, tokens.text).toBe(200);
    const claims = decodeJwt(tokens.json.id_token as string);
    expect(claims).not.toHaveProperty('nonce');
    expect(claims).toMatchObject({ sub: user.id, acr: 'aal2', preferred_username: user.username });
    // The unknown `email` scope is ignored, not refused (Auth.js asks for it by default).
    expect(tokens.json.scope).toBe('openid profile');
  });
});

describe('@hono/oidc-auth: OIDC_SCOPES unset asks for every scope discovery lists', () => {
  it('a client that is not first-party gets the consent page, then a code, and a refresh token for offline_access', async () => {
    const scopes = ((await discovery()).scopes_supported as string[]).join(' ');
    clock += 30;
    const { verifier, challenge } = await pkce();
    const path = `/authorize?${new URLSearchParams({ client_id: thirdParty.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: scopes, state: 's-hono', nonce: 'n-hono', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const browser = new Browser(workerEnv);
    const consent = await signIn(browser, user, path, clock);
    expect(consent.status, consent.text.slice(0, 300)).toBe(200);
    expect(consent.text).toContain('name="decision" value="allow"');
    const answer = await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' });
    expect(answer.status, answer.text.slice(0, 300)).toBe(303);
    expect(new URL(answer.location!).searchParams.get('state')).toBe('s-hono');
    setNow(clock + 1);
    const tokens = await exchangeCode(workerEnv, thirdParty, verifier, answer.location);
    expect(tokens.status, tokens.text).toBe(200);
    expect(tokens.json.scope).toBe(scopes);
    expect(typeof tokens.json.refresh_token).toBe('string');
    expect(decodeJwt(tokens.json.id_token as string)).toMatchObject({ nonce: 'n-hono', acr: 'aal2' });
  });
});
