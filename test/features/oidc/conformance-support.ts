import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { setNow, totpAt } from '../../helpers';
import { basic, Browser, codeOf, form, ISSUER, opEnv, PASSWORD, pkce, REDIRECT, send, stepFields, tokenRequest, type Answer, type Client, type Enrolled } from './support';

/**
 * What the OpenID conformance suite's Basic OP and Config OP modules check
 * (openid-certification/conformance-suite, OIDCCBasicTestPlan and
 * OIDCCConfigTestPlan), as helpers for the tests named after the modules in
 * conformance*.test.ts. Every flow sends PKCE: our contract requires it of
 * every client (API.md), so the suite must be configured to send it.
 */

export const workerEnv = opEnv();

/** A random value of `length` characters, as the suite's CreateRandomStateValue / CreateRandomNonceValue. */
export function randomValue(length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Shannon entropy of `value` in bits (AbstractEnsureMinimumEntropy): the suite wants more than 96. */
export function entropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) perChar -= (count / value.length) * Math.log2(count / value.length);
  return perChar * value.length;
}

/** RFC 6749 §4.1.2.1 / §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash). */
export const ERROR_DESCRIPTION = /^[\x09\x0A\x0D\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

/** An authorization request as the suite builds it (state, nonce, scope, response_type) plus PKCE; `undefined` drops a field. */
export async function authorization(client: Client, extra: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = await pkce();
  const params: Record<string, string | undefined> = {
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid',
    state: randomValue(),
    nonce: randomValue(),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  return { verifier, params, path: `/authorize?${form(params)}` };
}

/** The hosted pages from a page already shown (a sign-in page): the password, then the TOTP code of `now`. */
export async function completeSignIn(browser: Browser, page: Answer, user: Enrolled, now: number): Promise<Answer> {
  setNow(now);
  const afterPassword = await browser.post('/authorize/password', { ...stepFields(page.text), username: user.username, password: PASSWORD });
  expect(afterPassword.text).toContain('one-time-code');
  return browser.post('/authorize/otp', { ...stepFields(afterPassword.text), code: await totpAt(user.secret, now) });
}

/** The redirect back to the client: its parameters, after checking it goes to `redirectUri` and carries our `iss`. */
export function callback(answer: Answer, redirectUri = REDIRECT): Record<string, string> {
  expect(answer.status, answer.text.slice(0, 300)).toBe(303);
  const url = new URL(answer.location!);
  expect(url.origin + url.pathname).toBe(new URL(redirectUri).origin + new URL(redirectUri).pathname);
  const params = Object.fromEntries(url.searchParams);
  expect(params.iss).toBe(ISSUER);
  return params;
}

/** performGenericAuthorizationEndpointErrorResponseValidation: the error, state back, no code, nothing unexpected. */
export function expectAuthorizationError(answer: Answer, allowed: string[], state: string | undefined) {
  const params = callback(answer);
  expect(allowed).toContain(params.error);
  expect(params.state).toBe(state);
  expect(params.code).toBeUndefined();
  for (const name of Object.keys(params)) expect(['error', 'error_description', 'error_uri', 'state', 'session_state', 'iss']).toContain(name);
  if (params.error_description !== undefined) expect(params.error_description).toMatch(ERROR_DESCRIPTION);
  return params;
}

/** Our own error page (ExpectRedirectUriErrorPage): 400 HTML, never a redirect anywhere. */
export function expectErrorPage(answer: Answer) {
  expect(answer.status).toBe(400);
  expect(answer.location).toBeNull();
  expect(answer.headers.get('Content-Type')).toMatch(/^text\/html/);
}

export function exchange(client: Client, code: string, verifier: string, how: 'basic' | 'post' = 'basic', redirectUri = REDIRECT) {
  const fields = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier };
  return how === 'basic' ? tokenRequest(workerEnv, fields, basic(client)) : tokenRequest(workerEnv, { ...fields, client_id: client.clientId, client_secret: client.clientSecret });
}

/** CheckTokenEndpointHttpStatus200 and the token response's fields (RFC 6749 §5.1). */
export function expectTokenResponse(answer: Answer) {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(answer.headers.get('Cache-Control')).toContain('no-store');
  expect(String(answer.json.token_type).toLowerCase()).toBe('bearer');
  expect(answer.json.expires_in).toBeGreaterThan(0);
  expect(typeof answer.json.access_token).toBe('string');
  expect(typeof answer.json.id_token).toBe('string');
  return answer.json as { access_token: string; id_token: string; refresh_token?: string; scope: string; expires_in: number };
}

/** The claims an ID token may carry unasked (EnsureIdTokenDoesNotContainNonRequestedClaims), plus the scope's. */
const ID_TOKEN_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'sid', 'at_hash', 'c_hash', 'nbf', 'jti'];
const PROFILE_CLAIMS = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'preferred_username'];

/**
 * PerformStandardIdTokenChecks: a `kid` in the JWKS and a signature that
 * verifies with it (RS256 unless the client chose EdDSA), `iss`, `aud`, `exp`,
 * `iat`, `sub`, the nonce sent (and none when none was sent), `auth_time`
 * not in the future; and no claim the request did not ask for.
 */
export async function verifyIdToken(idToken: string, client: Client, expected: { nonce: string | undefined | null; scope?: string; alg?: string }): Promise<JWTPayload> {
  const header = decodeProtectedHeader(idToken);
  expect(header.alg).toBe(expected.alg ?? 'RS256');
  expect(typeof header.kid).toBe('string');
  const jwks = (await send(workerEnv, '/.well-known/jwks.json')).json as { keys: { kid: string }[] };
  expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
  const now = Math.floor(Date.now() / 1000);
  const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks as never), { issuer: ISSUER, audience: client.clientId, currentDate: new Date(now * 1000) });
  expect(typeof payload.sub).toBe('string');
  expect(payload.exp).toBeGreaterThan(now);
  expect(Math.abs(now - payload.iat!)).toBeLessThanOrEqual(300);
  expect(payload.auth_time as number).toBeLessThanOrEqual(now);
  // undefined: none was sent, so none comes back; null: not checked here (a refresh, OIDC Core §12.2).
  if (expected.nonce === undefined) expect(payload).not.toHaveProperty('nonce');
  else if (expected.nonce !== null) expect(payload.nonce).toBe(expected.nonce);
  const allowed = [...ID_TOKEN_CLAIMS, ...((expected.scope ?? 'openid').split(' ').includes('profile') ? PROFILE_CLAIMS : [])];
  for (const claim of Object.keys(payload)) expect(allowed, `unrequested claim ${claim}`).toContain(claim);
  return payload;
}

export type UserinfoMethod = 'get' | 'post-header' | 'post-body';

export function userinfo(accessToken: string, how: UserinfoMethod = 'get') {
  if (how === 'get') return send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
  if (how === 'post-header') return send(workerEnv, '/userinfo', { method: 'POST', headers: { Authorization: `Bearer ${accessToken}` } });
  return send(workerEnv, '/userinfo', { method: 'POST', body: form({ access_token: accessToken }), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
}

/** AbstractOIDCCUserInfoTest: 200, JSON, standard claims of the right types, the ID token's `sub`. */
export async function expectUserinfo(accessToken: string, sub: string, how: UserinfoMethod = 'get') {
  const answer = await userinfo(accessToken, how);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(answer.json.sub).toBe(sub);
  if ('preferred_username' in answer.json) expect(typeof answer.json.preferred_username).toBe('string');
  return answer.json;
}

/** The whole happy flow of one module: authorize, sign in, callback, token, ID token, userinfo. */
export async function happyFlow(client: Client, user: Enrolled, at: number, extra: Record<string, string | undefined> = {}, browser = new Browser(workerEnv)) {
  const request = await authorization(client, extra);
  setNow(at);
  const page = await browser.get(request.path);
  expect(page.status, page.location ?? page.text.slice(0, 300)).toBe(200);
  const back = callback(await completeSignIn(browser, page, user, at));
  expect(back.state).toBe(request.params.state);
  const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
  const idToken = await verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce, scope: tokens.scope });
  await expectUserinfo(tokens.access_token, idToken.sub!);
  return { request, page, back, tokens, idToken, browser };
}

export { codeOf };
