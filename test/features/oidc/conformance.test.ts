import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime, withOneCharacterChanged } from '../../helpers';
import { admin, Browser, enrolled, ISSUER, REDIRECT, registerClient, send, stepFields, T0, tokenRequest, basic, type Client, type Enrolled } from './support';
import {
  authorization,
  callback,
  completeSignIn,
  entropyBits,
  ERROR_DESCRIPTION,
  exchange,
  expectTokenResponse,
  expectUserinfo,
  happyFlow,
  userinfo,
  verifyIdToken,
  workerEnv,
} from './conformance-support';

/**
 * The OpenID conformance suite's Basic OP plan, token side (one test per
 * module, named after it; docs/openid-provider.md, "Conformance"): the happy
 * flow, the ID token's signature, UserInfo three ways, code reuse, refresh
 * tokens. And the Config OP plan's one module, discovery.
 */

afterEach(useRealTime);

let client: Client;
let user: Enrolled;
/** Each sign-in uses the next TOTP step, so no code is a replay. */
let clock = T0;
const next = () => (clock += 30);

beforeAll(async () => {
  setNow(T0);
  user = await enrolled(workerEnv, T0, uniqueName('cs'));
  client = await registerClient(workerEnv, { firstParty: true });
  useRealTime();
}, 60_000);

describe('Basic OP: the happy flow and client authentication', () => {
  it('oidcc-server', async () => {
    const { back, tokens, idToken } = await happyFlow(client, user, next());
    // Only the code, the state and iss come back (RFC 9207); the code has 128 bits at least (EnsureMinimumAuthorizationCode*).
    expect(Object.keys(back).sort()).toEqual(['code', 'iss', 'state']);
    expect(new TextEncoder().encode(back.code!).length * 8).toBeGreaterThanOrEqual(128);
    expect(entropyBits(back.code!)).toBeGreaterThan(96);
    // scope=openid alone: no profile claim in the ID token (EnsureIdTokenDoesNotContainName, ...NonRequestedClaims).
    expect(tokens.scope).toBe('openid');
    expect(idToken).not.toHaveProperty('preferred_username');
    expect(idToken).not.toHaveProperty('name');
    expect(idToken.azp).toBe(client.clientId);
  });

  it('oidcc-server-client-secret-post', async () => {
    const discovery = (await send(workerEnv, '/.well-known/openid-configuration')).json;
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    const at = next();
    const request = await authorization(client);
    const browser = new Browser(workerEnv);
    setNow(at);
    const back = callback(await completeSignIn(browser, await browser.get(request.path), user, at));
    const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier, 'post'));
    await verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce });
  });

  it('oidcc-ensure-request-with-valid-pkce-succeeds', async () => {
    // Every flow here sends PKCE (our contract requires it); the verifier is checked, and the right one succeeds.
    const at = next();
    const request = await authorization(client);
    const browser = new Browser(workerEnv);
    setNow(at);
    const back = callback(await completeSignIn(browser, await browser.get(request.path), user, at));
    expect((await exchange(client, back.code!, `${request.verifier}x`)).json.error).toBe('invalid_grant');
    expectTokenResponse(await exchange(client, back.code!, request.verifier));
  });
});

describe('Basic OP: the ID token', () => {
  it('oidcc-idtoken-signature', async () => {
    // A client registered without an algorithm gets RS256 (OIDC Core §3.1.3.7), with a kid of the JWKS (§10.1).
    const plain = await registerClient(workerEnv, { firstParty: true, name: 'No alg' });
    const { tokens } = await happyFlow(plain, user, next());
    const header = decodeProtectedHeader(tokens.id_token);
    expect(header).toMatchObject({ alg: 'RS256' });
    const jwks = (await send(workerEnv, '/.well-known/jwks.json')).json as { keys: Record<string, unknown>[] };
    expect(jwks.keys.find((key) => key.kid === header.kid)).toMatchObject({ kty: 'RSA', alg: 'RS256' });
  });

  it('oidcc-idtoken-unsigned', async () => {
    // The module is skipped when discovery does not list "none"; and no client can ask for unsigned ID tokens.
    const discovery = (await send(workerEnv, '/.well-known/openid-configuration')).json;
    expect(discovery.id_token_signing_alg_values_supported).not.toContain('none');
    const refused = await admin(workerEnv, '/admin/clients', { json: { name: 'Unsigned', redirectUris: [REDIRECT], type: 'confidential', idTokenSignedResponseAlg: 'none' } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('validation_failed');
  });
});

describe('Basic OP: UserInfo', () => {
  let accessToken: string;
  let sub: string;
  let signedInAt: number;

  beforeAll(async () => {
    signedInAt = next();
    const { tokens, idToken } = await happyFlow(client, user, signedInAt, { scope: 'openid profile' });
    accessToken = tokens.access_token;
    sub = idToken.sub!;
    useRealTime();
  });
  beforeEach(() => setNow(signedInAt + 5));

  it('oidcc-userinfo-get', async () => {
    expect(await expectUserinfo(accessToken, sub, 'get')).toEqual({ sub, preferred_username: user.username });
  });

  it('oidcc-userinfo-post-header', async () => {
    expect(await expectUserinfo(accessToken, sub, 'post-header')).toEqual({ sub, preferred_username: user.username });
  });

  it('oidcc-userinfo-post-body', async () => {
    expect(await expectUserinfo(accessToken, sub, 'post-body')).toEqual({ sub, preferred_username: user.username });
    // RFC 6750 §2: one method per request; §3: each error with its challenge.
    const twice = await send(workerEnv, '/userinfo', {
      method: 'POST',
      body: new URLSearchParams({ access_token: accessToken }),
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(twice.status).toBe(400);
    expect(twice.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_request"/);
    const repeated = await send(workerEnv, '/userinfo', { method: 'POST', body: `access_token=${accessToken}&access_token=${accessToken}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(repeated.status).toBe(400);
    expect(repeated.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_request"/);
    // Story: a repeated parameter name holding a line break must not reach the header (a 500, or a split header).
    const injected = await send(workerEnv, '/userinfo', { method: 'POST', body: 'a%0D%0AX-Evil%3A1=1&a%0D%0AX-Evil%3A1=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(injected.status).toBe(400);
    expect(injected.headers.get('X-Evil')).toBeNull();
    const malformed = await send(workerEnv, '/userinfo', { headers: { Authorization: 'Bearer a b' } });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_request"/);
    // The query form (§2.3) is not accepted: no token was sent.
    const query = await send(workerEnv, `/userinfo?access_token=${accessToken}`);
    expect(query.status).toBe(401);
    expect(query.headers.get('WWW-Authenticate')).toBe('Bearer');
    const [header, payload, signature] = accessToken.split('.');
    const bad = await userinfo(`${header}.${payload}.${withOneCharacterChanged(signature!)}`, 'post-body');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });
});

describe('Basic OP: code reuse', () => {
  function expectInvalidGrant(answer: Awaited<ReturnType<typeof exchange>>) {
    expect(answer.status).toBe(400);
    expect(answer.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(answer.json.error).toBe('invalid_grant');
    expect(answer.json.error_description).toMatch(ERROR_DESCRIPTION);
    expect(answer.json).not.toHaveProperty('error_uri');
  }

  it('oidcc-codereuse', async () => {
    const { back, request } = await happyFlow(client, user, next());
    expectInvalidGrant(await exchange(client, back.code!, request.verifier));
  });

  it('oidcc-codereuse-30seconds', async () => {
    const at = next();
    const { back, request, tokens } = await happyFlow(client, user, at);
    // 30 s later (the code lived 60 s): still refused, and what the first exchange issued is revoked (RFC 6749 §4.1.2).
    setNow(at + 30);
    expectInvalidGrant(await exchange(client, back.code!, request.verifier));
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    const refreshed = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, basic(client));
    expect(refreshed.json.error).toBe('invalid_grant');
  });
});

describe('Basic OP: refresh tokens', () => {
  it('oidcc-refresh-token', async () => {
    // The suite asks for offline_access (discovery lists it) with prompt=consent, as a client that is not first-party.
    const discovery = (await send(workerEnv, '/.well-known/openid-configuration')).json;
    expect(discovery.scopes_supported).toContain('offline_access');
    expect(discovery.grant_types_supported).toContain('refresh_token');
    const thirdParty = await registerClient(workerEnv, { name: 'Refreshing' });
    const second = await registerClient(workerEnv, { name: 'Second client' });
    const signInAs = async (forClient: Client, at: number) => {
      const request = await authorization(forClient, { scope: 'openid offline_access', prompt: 'consent' });
      const browser = new Browser(workerEnv);
      setNow(at);
      const consent = await completeSignIn(browser, await browser.get(request.path), user, at);
      const back = callback(await browser.post('/authorize/consent', { ...stepFields(consent.text), decision: 'allow' }));
      return { request, tokens: expectTokenResponse(await exchange(forClient, back.code!, request.verifier)) };
    };
    const at = next();
    const { request, tokens } = await signInAs(thirdParty, at);
    const first = await verifyIdToken(tokens.id_token, thirdParty, { nonce: request.params.nonce });
    const refreshToken = tokens.refresh_token!;
    expect(refreshToken).toMatch(/^[\x20-\x7E]+$/);
    expect(refreshToken.length * 8).toBeGreaterThanOrEqual(128);
    expect(entropyBits(refreshToken)).toBeGreaterThan(96);
    // A second later, the refresh (with the scope, as the suite sends it).
    setNow(at + 1);
    const refreshed = expectTokenResponse(await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'openid offline_access' }, basic(thirdParty)));
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.access_token).toMatch(/^[\x20-\x7E]+$/);
    expect(entropyBits(refreshed.access_token)).toBeGreaterThan(96);
    // OIDC Core §12.2 (CompareIdTokenClaims): iss, sub, aud, azp and auth_time as before; iat new.
    const renewed = await verifyIdToken(refreshed.id_token, thirdParty, { nonce: null });
    expect(renewed.nonce === undefined || renewed.nonce === first.nonce).toBe(true);
    for (const claim of ['iss', 'sub', 'aud', 'azp', 'auth_time'] as const) expect(renewed[claim]).toEqual(first[claim]);
    expect(renewed.iat).not.toBe(first.iat);
    await expectUserinfo(refreshed.access_token, first.sub!);
    // The second client's refresh token presented by the first: invalid_grant (bound to its client).
    const other = await signInAs(second, next());
    const stolen = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: other.tokens.refresh_token!, scope: 'openid offline_access' }, basic(thirdParty));
    expect(stolen.status).toBe(400);
    expect(stolen.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(stolen.json.error).toBe('invalid_grant');
  });
});

/** Metadata names registered for RFC 8414 / OIDC Discovery and their extensions (CheckForUnexpectedParametersInServerMetadata). */
const KNOWN_METADATA = new Set(
  'issuer authorization_endpoint token_endpoint userinfo_endpoint jwks_uri registration_endpoint end_session_endpoint revocation_endpoint introspection_endpoint response_types_supported response_modes_supported grant_types_supported subject_types_supported id_token_signing_alg_values_supported token_endpoint_auth_methods_supported revocation_endpoint_auth_methods_supported code_challenge_methods_supported scopes_supported claims_supported acr_values_supported prompt_values_supported display_values_supported claim_types_supported claims_parameter_supported request_parameter_supported request_uri_parameter_supported require_request_uri_registration authorization_response_iss_parameter_supported backchannel_logout_supported backchannel_logout_session_supported frontchannel_logout_supported ui_locales_supported claims_locales_supported service_documentation'.split(' '),
);

describe('Config OP', () => {
  it('oidcc-discovery-endpoint-verification', async () => {
    setNow(clock);
    const answer = await send(workerEnv, '/.well-known/openid-configuration');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('Content-Type')).toMatch(/^application\/json/);
    const d = answer.json as Record<string, unknown>;
    // The issuer is where the document was fetched from (OIDC Discovery §4.3), an https URL without query or fragment.
    expect(d.issuer).toBe(ISSUER);
    const issuer = new URL(d.issuer as string);
    expect([issuer.protocol, issuer.search, issuer.hash]).toEqual(['https:', '', '']);
    for (const name of Object.keys(d)) expect(KNOWN_METADATA, `unexpected metadata ${name}`).toContain(name);
    expect(d.response_types_supported).toContain('code');
    expect(d.subject_types_supported).toContain('public');
    expect(d.id_token_signing_alg_values_supported).toContain('RS256');
    for (const [name, value] of Object.entries(d)) if (name.endsWith('_endpoint') || name === 'jwks_uri') expect(new URL(value as string).protocol, name).toBe('https:');
    expect([d.authorization_endpoint, d.token_endpoint, d.userinfo_endpoint]).toEqual([`${ISSUER}/authorize`, `${ISSUER}/token`, `${ISSUER}/userinfo`]);
    expect(d.request_parameter_supported).toBe(false);
    expect(d.request_uri_parameter_supported).toBe(false);
    expect(d.claims_parameter_supported).toBe(false);
    expect(d.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'auth_time', 'acr', 'preferred_username']));
    expect((d.claims_supported as unknown[]).every((claim) => typeof claim === 'string')).toBe(true);
    expect(d.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(d.response_modes_supported).toContain('query');
    expect(d.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    expect(d.scopes_supported).toContain('openid');
    for (const scope of d.scopes_supported as string[]) expect(scope).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
    expect(d.code_challenge_methods_supported).toEqual(['S256']);
    // The JWKS (ValidateJwksSequence): public keys only, each with a kty and a distinct kid; RSA of 2048 bits or more.
    const jwks = (await send(workerEnv, new URL(d.jwks_uri as string).pathname)).json as { keys: Record<string, string>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(new Set(jwks.keys.map((key) => key.kid)).size).toBe(jwks.keys.length);
    for (const key of jwks.keys) {
      expect(typeof key.kty).toBe('string');
      expect(typeof key.kid).toBe('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
      if (key.kty === 'RSA') expect(atob(key.n!.replace(/-/g, '+').replace(/_/g, '/')).length * 8).toBeGreaterThanOrEqual(2048);
    }
  });
});
