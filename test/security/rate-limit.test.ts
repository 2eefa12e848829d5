import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/index';
import { snapshot } from '../helpers';

/** A stand-in for the Workers Rate Limiting binding that records its keys. */
function fakeLimiter(allow: (key: string) => boolean) {
  const keys: string[] = [];
  const binding = {
    async limit({ key }: { key: string }) {
      keys.push(key);
      return { success: allow(key) };
    },
  } as unknown as RateLimit;
  return { binding, keys };
}

async function send(path: string, limiter: RateLimit, headers: Record<string, string> = {}, body?: unknown, extraEnv: Record<string, string> = {}) {
  const request = new Request(`https://mfa.test${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body ?? { username: 'flooder', password: 'a password long enough' }),
  });
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...extraEnv, AUTH_RATE_LIMITER: limiter }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * Credential stuffing and registration floods: a coarse per-client-IP flood
 * filter in front of the exact per-account counters in D1, so a flood never
 * reaches scrypt or the database. Production counts per location and is
 * eventually consistent, so only the wiring is asserted here, not counts.
 */
describe('IP flood filter on /register and /login', () => {
  it('answers 429 with Retry-After before any work when the binding says no', async () => {
    const before = await snapshot();
    const { binding, keys } = fakeLimiter(() => false);
    for (const path of ['/register', '/login']) {
      const response = await send(path, binding, { 'CF-Connecting-IP': '203.0.113.7' });
      expect(response.status).toBe(429);
      expect(response.headers.get('Retry-After')).toBe('60');
      expect(await response.json()).toEqual({ error: 'too_many_requests', message: expect.any(String) });
    }
    expect(keys).toEqual(['/register:203.0.113.7', '/login:203.0.113.7']);
    // Nothing was registered, no throttle row was touched.
    expect(await snapshot()).toBe(before);
  });

  it('is keyed per path and per CF-Connecting-IP, so one client cannot exhaust another', async () => {
    const blocked = '198.51.100.1';
    const { binding, keys } = fakeLimiter((key) => !key.endsWith(`:${blocked}`));
    const refused = await send('/login', binding, { 'CF-Connecting-IP': blocked });
    expect(refused.status).toBe(429);
    const other = await send('/login', binding, { 'CF-Connecting-IP': '198.51.100.2' }, { username: 'nobody-here', password: 'wrong password!' });
    expect(other.status).toBe(401);
    expect(keys).toEqual([`/login:${blocked}`, '/login:198.51.100.2']);
  });

  it("covers the provider's hosted password and sign-up steps, in /login's and /register's buckets", async () => {
    // Attack (second review): a script takes one ticket and CSRF token from /authorize, then
    // sprays passwords (or makes accounts) through the hosted pages, which the JSON routes'
    // filter did not see. Both steps now spend the same per-IP bucket as their JSON twins.
    const before = await snapshot();
    const { binding, keys } = fakeLimiter(() => false);
    for (const path of ['/authorize/password', '/authorize/signup']) {
      // The provider is on (ISSUER_URL); its routes are 404 without it.
      const response = await send(path, binding, { 'CF-Connecting-IP': '203.0.113.9' }, undefined, { ISSUER_URL: 'https://mfa.test' });
      expect(response.status, path).toBe(429);
      expect(response.headers.get('Retry-After')).toBe('60');
    }
    expect(keys).toEqual(['/login:203.0.113.9', '/register:203.0.113.9']);
    expect(await snapshot()).toBe(before);
  });

  it("covers the provider's /end-session, GET and POST, in its own bucket", async () => {
    // Attack (issue 20): /end-session is public and anonymous, and each request with an
    // id_token_hint could read the signing keys; a script could drive that at any rate. It is
    // now behind the same per-IP filter as the other public routes, refused before any work.
    const before = await snapshot();
    const { binding, keys } = fakeLimiter(() => false);
    const post = await send('/end-session', binding, { 'CF-Connecting-IP': '203.0.113.10' }, undefined, { ISSUER_URL: 'https://mfa.test' });
    expect(post.status).toBe(429);
    expect(post.headers.get('Retry-After')).toBe('60');
    const ctx = createExecutionContext();
    const get = await app.fetch(new Request('https://mfa.test/end-session?id_token_hint=x.y.z', { headers: { 'CF-Connecting-IP': '203.0.113.10' } }), { ...env, ISSUER_URL: 'https://mfa.test', AUTH_RATE_LIMITER: binding }, ctx);
    await waitOnExecutionContext(ctx);
    expect(get.status).toBe(429);
    expect(keys).toEqual(['/end-session:203.0.113.10', '/end-session:203.0.113.10']);
    expect(await snapshot()).toBe(before);
  });

  it('guards only the unauthenticated password routes', async () => {
    const { binding, keys } = fakeLimiter(() => false);
    const ctx = createExecutionContext();
    const health = await app.fetch(new Request('https://mfa.test/health'), { ...env, AUTH_RATE_LIMITER: binding }, ctx);
    expect(health.status).toBe(200);
    const verify = await send('/otp-verify', binding, {}, { code: '123456' });
    expect(verify.status).toBe(401); // no token: refused by auth, not by the flood filter
    expect(keys).toEqual([]);
  });

  it('the real binding is wired in (wrangler.toml [[ratelimits]])', async () => {
    const outcome = await env.AUTH_RATE_LIMITER.limit({ key: '/login:192.0.2.1' });
    expect(outcome).toMatchObject({ success: expect.any(Boolean) });
  });
});
