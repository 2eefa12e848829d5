import { env } from 'cloudflare:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import {
  authorizePath,
  basic,
  Browser,
  codeOf,
  enrolled,
  ISSUER,
  opEnv,
  pkce,
  REDIRECT,
  registerClient,
  send,
  signIn,
  T0,
  tokenRequest,
  type Client,
  type Enrolled,
} from './support';

afterEach(useRealTime);

const workerEnv = opEnv();
let client: Client;
let other: Client;
let edClient: Client;
let user: Enrolled;
/** Each sign-in uses the next TOTP step, so no code is a replay. */
let clock = T0;

beforeAll(async () => {
  user = await enrolled(workerEnv, T0);
  client = await registerClient(workerEnv, { firstParty: true });
  other = await registerClient(workerEnv, { firstParty: true, name: 'Other' });
  edClient = await registerClient(workerEnv, { firstParty: true, idTokenSignedResponseAlg: 'EdDSA' });
  useRealTime();
}, 60_000);

/** A fresh code for `forClient` (a sign-in through the pages), with its verifier. */
async function freshCode(forClient: Client = client, extra: Record<string, string> = {}) {
  clock += 30;
  const { verifier, challenge } = await pkce();
  const answer = await signIn(new Browser(workerEnv), user, authorizePath(forClient.clientId, challenge, extra), clock);
  expect(answer.status, answer.text.slice(0, 500)).toBe(303);
  return { code: codeOf(answer.location), verifier, at: clock };
}

function exchange(code: string, verifier: string | undefined, forClient: Client = client, redirectUri = REDIRECT) {
  return tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, basic(forClient));
}

function userinfo(accessToken: string) {
  return send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
}

async function jwks() {
  return createLocalJWKSet((await send(workerEnv, '/.well-known/jwks.json')).json as never);
}

describe('discovery and keys', () => {
  it('serves one document at both well-known paths, issuer byte for byte, cacheable', async () => {
    const a = await send(workerEnv, '/.well-known/openid-configuration');
    const b = await send(workerEnv, '/.well-known/oauth-authorization-server');
    expect(a.status).toBe(200);
    expect(a.json).toEqual(b.json);
    expect(a.json).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256', 'EdDSA'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(a.headers.get('Cache-Control')).toMatch(/^public, max-age=\d+/);
  });

  it('publishes an RSA key of 2048 bits or more beside the Ed25519 key', async () => {
    setNow(T0);
    const keys = (await send(workerEnv, '/.well-known/jwks.json')).json.keys as { kty: string; n?: string; alg: string; d?: string; p?: string }[];
    const rsa = keys.filter((key) => key.kty === 'RSA');
    expect(rsa.length).toBeGreaterThanOrEqual(1);
    for (const key of rsa) {
      expect(key.alg).toBe('RS256');
      expect(atob(key.n!.replace(/-/g, '+').replace(/_/g, '/')).length * 8).toBeGreaterThanOrEqual(2048);
      expect(key.d).toBeUndefined();
      expect(key.p).toBeUndefined();
    }
    expect(keys.some((key) => key.kty === 'OKP')).toBe(true);
  });
});

describe('the code exchange', () => {
  it('issues an RS256 ID token that verifies through the JWKS, with every claim of the contract', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 5);
    const r = await exchange(code, verifier);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('Cache-Control')).toBe('no-store');
    expect(r.json).toMatchObject({ token_type: 'Bearer', scope: 'openid profile' });
    expect(typeof r.json.refresh_token).toBe('string');
    const { payload, protectedHeader } = await jwtVerify(r.json.id_token as string, await jwks(), {
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: client.clientId,
      requiredClaims: ['exp', 'iat', 'auth_time', 'sid', 'nonce'],
      currentDate: new Date((at + 5) * 1000),
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: user.id, azp: client.clientId, nonce: 'n-1', acr: 'aal2', amr: ['pwd', 'otp'], auth_time: at, preferred_username: user.username });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
    // The access token: at+jwt, EdDSA, iss = ISSUER_URL, client_id and scope.
    const access = await jwtVerify(r.json.access_token as string, await jwks(), { algorithms: ['EdDSA'], typ: 'at+jwt', issuer: ISSUER, currentDate: new Date((at + 5) * 1000) });
    expect(access.payload).toMatchObject({ sub: user.id, client_id: client.clientId, scope: 'openid profile', acr: 'aal2', amr: ['pwd', 'otp'], auth_time: at });
    const info = await userinfo(r.json.access_token as string);
    expect(info.status).toBe(200);
    expect(info.json).toEqual({ sub: user.id, preferred_username: user.username });
  });

  it('signs with EdDSA for a client that asked for it', async () => {
    const { code, verifier, at } = await freshCode(edClient);
    setNow(at + 1);
    const r = await exchange(code, verifier, edClient);
    const { protectedHeader } = await jwtVerify(r.json.id_token as string, await jwks(), { algorithms: ['EdDSA'], issuer: ISSUER, audience: edClient.clientId, currentDate: new Date((at + 1) * 1000) });
    expect(protectedHeader.alg).toBe('EdDSA');
  });

  it('code reuse: a second exchange gets invalid_grant and revokes the refresh and access tokens of the first', async () => {
    // Story: the code leaks (a log, a Referer); the attacker redeems it after the client did.
    const { code, verifier, at } = await freshCode();
    setNow(at + 2);
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect((await userinfo(first.json.access_token as string)).status).toBe(200);
    const second = await exchange(code, verifier);
    expect(second.status).toBe(400);
    expect(second.json.error).toBe('invalid_grant');
    const info = await userinfo(first.json.access_token as string);
    expect(info.status).toBe(401);
    expect(info.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token"/);
    const refreshed = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string }, basic(client));
    expect(refreshed.json.error).toBe('invalid_grant');
    const events = await env.DB.prepare("SELECT type FROM security_events WHERE user_id = ? AND type IN ('oidc_code_reused','oidc_token_revoked')").bind(user.id).all();
    expect(events.results.map((row) => row.type).sort()).toEqual(['oidc_code_reused', 'oidc_token_revoked']);
  });

  it('two exchanges at once: exactly one 200', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 2);
    const answers = await Promise.all([exchange(code, verifier), exchange(code, verifier)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
  });

  it('PKCE: a missing verifier is invalid_request, a wrong one invalid_grant, and the code still works for its owner', async () => {
    // Story: an attacker who stole the code but not the verifier (the point of PKCE).
    const { code, verifier, at } = await freshCode();
    setNow(at + 2);
    expect((await exchange(code, undefined)).json.error).toBe('invalid_request');
    expect((await exchange(code, 'x'.repeat(43))).json.error).toBe('invalid_grant');
    expect((await exchange(code, verifier.slice(0, -1) + (verifier.endsWith('a') ? 'b' : 'a'))).json.error).toBe('invalid_grant');
    expect((await exchange(code, 'short')).json.error).toBe('invalid_request');
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it('a code is bound to its client and redirect URI, and lives 60 s', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 2);
    expect((await exchange(code, verifier, other)).json.error).toBe('invalid_grant');
    expect((await exchange(code, verifier, client, 'https://rp.example/cb2')).json.error).toBe('invalid_grant');
    const late = await freshCode();
    setNow(late.at + 61);
    expect((await exchange(late.code, late.verifier)).json.error).toBe('invalid_grant');
  });
});

describe('refresh', () => {
  it('rotates; the previous token within 30 s gets the identical tokens; later reuse revokes; another client gets invalid_grant', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 1);
    const first = (await exchange(code, verifier)).json;
    const refresh = (token: string, forClient = client) => tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: token }, basic(forClient));
    // Story: another client holding a leaked refresh token of this one.
    expect((await refresh(first.refresh_token as string, other)).json.error).toBe('invalid_grant');
    setNow(at + 100);
    const second = await refresh(first.refresh_token as string);
    expect(second.status, second.text).toBe(200);
    const idClaims = await jwtVerify(second.json.id_token as string, await jwks(), { issuer: ISSUER, audience: client.clientId, currentDate: new Date((at + 100) * 1000) });
    expect(idClaims.payload.auth_time).toBe(at);
    setNow(at + 110);
    const replay = await refresh(first.refresh_token as string);
    // The same tokens byte for byte; only expires_in counts down.
    expect({ ...replay.json, expires_in: 0 }).toEqual({ ...second.json, expires_in: 0 });
    setNow(at + 200);
    expect((await refresh(first.refresh_token as string)).json.error).toBe('invalid_grant');
    expect((await refresh(second.json.refresh_token as string)).json.error).toBe('invalid_grant');
    expect((await userinfo(second.json.access_token as string)).status).toBe(401);
  });

  it('a narrower scope is honoured; a wider one is invalid_scope', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 1);
    const first = (await exchange(code, verifier)).json;
    const wider = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.refresh_token as string, scope: 'openid profile offline_access' }, basic(client));
    expect(wider.json.error).toBe('invalid_scope');
    const narrower = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: first.refresh_token as string, scope: 'openid' }, basic(client));
    expect(narrower.status).toBe(200);
    expect(narrower.json.scope).toBe('openid');
    expect((await userinfo(narrower.json.access_token as string)).json).toEqual({ sub: user.id });
  });
});

describe('/revoke (RFC 7009)', () => {
  it('revokes a refresh token and its access token; 200 for an unknown token; another client cannot revoke', async () => {
    const { code, verifier, at } = await freshCode();
    setNow(at + 1);
    const tokens = (await exchange(code, verifier)).json;
    const revoke = (token: string, forClient = client) =>
      send(workerEnv, '/revoke', { method: 'POST', body: new URLSearchParams({ token }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(forClient) } });
    expect((await revoke('no-such-token')).status).toBe(200);
    expect((await revoke(tokens.refresh_token as string, other)).status).toBe(200);
    expect((await userinfo(tokens.access_token as string)).status).toBe(200);
    expect((await revoke(tokens.refresh_token as string)).status).toBe(200);
    expect((await userinfo(tokens.access_token as string)).status).toBe(401);
    const unauthenticated = await send(workerEnv, '/revoke', { method: 'POST', body: new URLSearchParams({ token: 'x' }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic ' + btoa(`${client.clientId}:wrong`) } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('WWW-Authenticate')).toMatch(/^Basic /);
  });
});

describe('/userinfo (RFC 6750 §3)', () => {
  it('no token: 401 with a bare Bearer challenge; a bad one: invalid_token; a JSON API access token is not ours', async () => {
    const none = await send(workerEnv, '/userinfo');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer');
    const bad = await send(workerEnv, '/userinfo', { method: 'POST', headers: { Authorization: 'Bearer abc.def.ghi' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/);
    // The v2 access token has iss = ISSUER (a name), not ISSUER_URL: never accepted here.
    const api = await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${user.fullToken}` } });
    expect(api.status).toBe(401);
  });
});
