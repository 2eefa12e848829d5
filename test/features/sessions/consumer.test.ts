import { createExecutionContext, createScheduledController, env, SELF } from 'cloudflare:test';
import { Hono } from 'hono';
import { jwk } from 'hono/jwk';
import { createRemoteJWKSet, customFetch, jwtVerify, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { scheduled } from '../../../src/scheduled';
import { BASE, call, decodeJwtPayload, enrolledUser, loginUser, setNow, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_960_000_000;
const DAY = 86400;
const JWKS_URL = `${BASE}/.well-known/jwks.json`;

/** Every fetch a consumer makes goes to the real Worker, and is counted. */
function countingFetch() {
  const counter = { fetches: 0 };
  const fetchJwks = async (input: RequestInfo | URL, init?: RequestInit) => {
    counter.fetches += 1;
    return SELF.fetch(input, init);
  };
  return { counter, fetchJwks };
}

/**
 * The README's consumer: a product's own Hono API behind Hono's jwk
 * middleware, with the key set cached as the JWKS's Cache-Control allows.
 */
function productApi(fetchJwks: (input: string) => Promise<Response>, audience = env.ISSUER) {
  let cache: { keys: JsonWebKey[]; until: number } | undefined;
  const keys = async () => {
    if (!cache || Date.now() >= cache.until) {
      const response = await fetchJwks(JWKS_URL);
      const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('Cache-Control') ?? '')?.[1] ?? 0);
      cache = { keys: ((await response.json()) as { keys: JsonWebKey[] }).keys, until: Date.now() + maxAge * 1000 };
    }
    return cache.keys;
  };
  return new Hono<{ Variables: { jwtPayload: { sub: string } } }>()
    .use('/api/*', jwk({ keys, alg: ['EdDSA'], verification: { iss: env.ISSUER, aud: audience, typ: 'at+jwt' } }))
    .get('/api/orders', (c) => c.json({ owner: c.get('jwtPayload').sub }));
}

const asBearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('a product verifies edge-mfa tokens on its own, through the JWKS', () => {
  it('GET /.well-known/jwks.json: public members only, cacheable, an ETag and 304, readable from any origin', async () => {
    await enrolledUser(T0);
    const r = await SELF.fetch(JWKS_URL, { headers: { Origin: 'https://shop.example' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('Cache-Control')).toMatch(/^public, max-age=300, stale-while-revalidate=\d+$/);
    expect(r.headers.get('Access-Control-Allow-Origin')).toBe('*');
    const etag = r.headers.get('ETag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const body = (await r.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of body.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    const again = await SELF.fetch(JWKS_URL, { headers: { 'If-None-Match': `W/${etag}, "other"` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('ETag')).toBe(etag);
    expect((await SELF.fetch(JWKS_URL, { headers: { 'If-None-Match': '"stale"' } })).status).toBe(200);
  });

  it('hono/jwk accepts a full token, refuses a password-only token, another audience and a tampered token; no fetch once warm', async () => {
    const user = await enrolledUser(T0);
    const { counter, fetchJwks } = countingFetch();
    const api = productApi(fetchJwks);
    const ok = await api.request('/api/orders', asBearer(user.fullToken));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ owner: user.id });
    const { token: passwordOnly } = await loginUser(user.username);
    expect((await api.request('/api/orders', asBearer(passwordOnly))).status).toBe(401);
    const [head, payload, signature] = user.fullToken.split('.');
    const tampered = `${head}.${payload!.slice(0, -4)}AAAA.${signature}`;
    expect((await api.request('/api/orders', asBearer(tampered))).status).toBe(401);
    expect((await productApi(fetchJwks, 'another-product').request('/api/orders', asBearer(user.fullToken))).status).toBe(401);
    const warm = counter.fetches;
    for (let i = 0; i < 20; i++) expect((await api.request('/api/orders', asBearer(user.fullToken))).status).toBe(200);
    expect(counter.fetches).toBe(warm);
  });

  it('jose createRemoteJWKSet keeps accepting tokens across a key rotation with a warm cache, and refuses a revoked key', async () => {
    const user = await enrolledUser(T0);
    const { counter, fetchJwks } = countingFetch();
    const jwks = createRemoteJWKSet(new URL(JWKS_URL), { [customFetch]: fetchJwks, cacheMaxAge: 40 * DAY * 1000, cooldownDuration: 30_000 });
    const verify = (token: string) => jwtVerify(token, jwks, { issuer: env.ISSUER, audience: env.ISSUER, algorithms: ['EdDSA'], typ: 'at+jwt' });
    const first = decodeJwtPayload(user.fullToken);
    await expect(verify(user.fullToken)).resolves.toBeDefined();
    expect(counter.fetches).toBe(1);

    // The daily cron, 28 days on: the successor is published ahead of signing.
    const cron = async (at: number) => scheduled(createScheduledController({ scheduledTime: new Date(at * 1000), cron: '17 3 * * *' }), env, createExecutionContext());
    setNow(T0 + 28 * DAY);
    await cron(T0 + 28 * DAY);
    // A consumer whose cache is filled now, while both keys are published, holds both.
    const reload = createRemoteJWKSet(new URL(JWKS_URL), { [customFetch]: fetchJwks, cacheMaxAge: 40 * DAY * 1000 });
    const verifyWith = (set: typeof reload, token: string) => jwtVerify(token, set, { issuer: env.ISSUER, audience: env.ISSUER, algorithms: ['EdDSA'] });
    const before = await enrolledUser(T0 + 28 * DAY);
    const fetchesBefore = counter.fetches;
    await expect(verifyWith(reload, before.fullToken)).resolves.toBeDefined();
    expect(counter.fetches).toBe(fetchesBefore + 1);
    const published = (await (await SELF.fetch(JWKS_URL)).json()) as { keys: unknown[] };
    expect(published.keys).toHaveLength(2);

    // 31 days on the new key signs; the warm cache verifies it with no fetch.
    setNow(T0 + 31 * DAY);
    await cron(T0 + 31 * DAY);
    const later = await enrolledUser(T0 + 31 * DAY);
    const newKid = JSON.parse(atob(later.fullToken.split('.')[0]!)).kid as string;
    const oldKid = JSON.parse(atob(user.fullToken.split('.')[0]!)).kid as string;
    expect(newKid).not.toBe(oldKid);
    const fetchesWarm = counter.fetches;
    await expect(verifyWith(reload, later.fullToken)).resolves.toBeDefined();
    expect(counter.fetches).toBe(fetchesWarm);

    // The documented emergency revoke: the key leaves the JWKS at once, and a
    // consumer that refetches stops accepting its tokens.
    await env.DB.prepare('UPDATE signing_keys SET revoked_at = unixepoch() WHERE kid = ?').bind(newKid).run();
    const listed = (await (await SELF.fetch(JWKS_URL)).json()) as { keys: { kid: string }[] };
    expect(listed.keys.map((key) => key.kid)).not.toContain(newKid);
    const cold = createRemoteJWKSet(new URL(JWKS_URL), { [customFetch]: fetchJwks });
    await expect(verifyWith(cold, later.fullToken)).rejects.toThrow();
    expect(first.sid).toBeDefined();
  });
});

describe('token confusion: only a genuine EdDSA access token of a live session is a full token here', () => {
  async function forgeries() {
    const user = await enrolledUser(T0);
    const [header, payload] = user.fullToken.split('.');
    const claims = decodeJwtPayload(user.fullToken);
    const keys = (await (await SELF.fetch(JWKS_URL)).json()) as { keys: { x: string; kid: string }[] };
    const publicKeyBytes = Uint8Array.from(atob(keys.keys[0]!.x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const hs = (extraHeader: Record<string, unknown>, secret: Uint8Array) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys.keys[0]!.kid, ...extraHeader }).sign(secret);
    const attacker = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const attackerJwk = await crypto.subtle.exportKey('jwk', attacker.publicKey);
    const ed = (extraHeader: Record<string, unknown>, more: Record<string, unknown> = {}) =>
      new SignJWT({ ...claims, ...more }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: keys.keys[0]!.kid, ...extraHeader }).sign(attacker.privateKey);
    const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    return {
      user,
      tokens: {
        'HS256 signed with the public key': await hs({}, publicKeyBytes),
        'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
        'jwk header with the attacker key': await ed({ jwk: attackerJwk }),
        'jku header': await ed({ jku: 'https://attacker.example/jwks.json' }),
        'x5u header': await ed({ x5u: 'https://attacker.example/cert.pem' }),
        'unknown kid': await ed({ kid: 'not-a-key-of-ours' }),
        'our kid, the attacker key': await ed({}),
        'typ JWT': `${b64({ ...JSON.parse(atob(header!)), typ: 'JWT' })}.${payload}.${user.fullToken.split('.')[2]}`,
        'another issuer': await ed({}, { iss: 'someone-else' }),
      },
    };
  }

  it('each forgery is 401 on /me and on /reauthenticate, and the real token still works', async () => {
    const { user, tokens } = await forgeries();
    for (const [name, token] of Object.entries(tokens)) {
      const me = await call('/me', { token });
      expect(me.status, name).toBe(401);
      expect(me.headers.get('WWW-Authenticate'), name).toMatch(/^Bearer/);
      expect((await call('/reauthenticate', { token, json: { code: '123456' } })).status, name).toBe(401);
    }
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });

  it('a revoked signing key stops verifying here at once (after the per-isolate cache refresh) and a new one signs', async () => {
    const user = await enrolledUser(T0);
    const kid = JSON.parse(atob(user.fullToken.split('.')[0]!)).kid as string;
    await env.DB.prepare('UPDATE signing_keys SET revoked_at = unixepoch() WHERE kid = ?').bind(kid).run();
    // The key cache is refreshed at most every 60 s.
    setNow(T0 + 61);
    expect((await call('/me', { token: user.fullToken })).status).toBe(401);
    const fresh = await enrolledUser(T0 + 61);
    expect(JSON.parse(atob(fresh.fullToken.split('.')[0]!)).kid).not.toBe(kid);
    expect((await call('/me', { token: fresh.fullToken })).status).toBe(200);
  });
});
