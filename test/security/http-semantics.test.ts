import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { setBudget } from '../budget';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { ERRORS, errorResponse, type ErrorCode } from '../../src/core/errors';
import { negotiate } from '../../src/http/accept';
import app from '../../src/index';
import { BASE, call, enrolledUser, loginUser, PASSWORD, registerUser, setNow, useRealTime } from '../helpers';
import { T0, wrongCode } from './support';

afterEach(useRealTime);

async function direct(path: string, init: RequestInit, vars: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * RFC 9110 §15.5.2: a 401 MUST carry WWW-Authenticate. RFC 6750 §3.1: a
 * presented but bad token is `error="invalid_token"`; a request without one
 * gets the bare challenge. A client library that keys off the header (retry
 * with a fresh token, or prompt for a login) must never see a 401 without it.
 */
describe('every 401 carries WWW-Authenticate: Bearer (RFC 9110 §15.5.2, RFC 6750 §3.1)', () => {
  it('no token, or another scheme: plain Bearer with no error code', async () => {
    for (const headers of [{}, { Authorization: 'Basic dXNlcjpwYXNz' }, { Authorization: '' }] as Record<string, string>[]) {
      const r = await call('/me', { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
    }
  });

  it('a presented token that is malformed, forged or revoked: Bearer error="invalid_token"', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(204);
    for (const authorization of ['Bearer not-a-jwt', 'Bearer', 'Bearer a.b.c', `Bearer ${token}`]) {
      const r = await call('/create-otp', { method: 'POST', headers: { Authorization: authorization } });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('unauthorized');
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    }
  });

  it('a 401 for a credential in the body (invalid_credentials, invalid_code) carries the bare challenge', async () => {
    const user = await enrolledUser(T0 + 600);
    const login = await call('/login', { json: { username: user.username, password: 'not the password at all' } });
    expect(login.status).toBe(401);
    expect(login.headers.get('WWW-Authenticate')).toBe('Bearer');
    const { token } = await loginUser(user.username);
    const code = await call('/otp-verify', { token, json: { code: await wrongCode(user.secret, T0 + 600) } });
    expect(code.status).toBe(401);
    expect(code.body.error).toBe('invalid_code');
    // The token is fine: no invalid_token, which would make a client throw it away.
    expect(code.headers.get('WWW-Authenticate')).toBe('Bearer');
  });

  it('every 401 code of the catalog, built by errorResponse, has a challenge (one rule, not a list)', async () => {
    const codes = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => ERRORS[code][0] === 401);
    expect(codes).toEqual(expect.arrayContaining(['unauthorized', 'invalid_credentials', 'invalid_code', 'invalid_refresh_token', 'invalid_reset_token']));
    const probe = new Hono().get('/:code', (c) => errorResponse(c, c.req.param('code') as ErrorCode));
    for (const code of codes) {
      for (const headers of [{}, { Authorization: 'Bearer x.y.z' }] as Record<string, string>[]) {
        const response = await probe.request(`/${code}`, { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('WWW-Authenticate'), code).toMatch(/^Bearer\b/);
      }
    }
    const non401 = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => ERRORS[code][0] !== 401);
    for (const code of non401) expect((await probe.request(`/${code}`)).headers.get('WWW-Authenticate'), code).toBeNull();
  });
});

describe('the auth scheme is case-insensitive (RFC 9110 §11.1)', () => {
  it('bearer, BEARER and BeArEr all authenticate', async () => {
    const user = await enrolledUser(T0 + 1200);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'BeArEr']) {
      const r = await call('/me', { headers: { Authorization: `${scheme} ${user.fullToken}` } });
      expect(r.status, scheme).toBe(200);
    }
  });

  /** Header smuggling: two Authorization headers arrive joined; neither token may be picked out of the pair. */
  it('duplicate Authorization headers are refused (401 invalid_token), even with the same token twice', async () => {
    const user = await enrolledUser(T0 + 1800);
    for (const second of [user.fullToken, 'garbage']) {
      const headers = new Headers();
      headers.append('Authorization', `Bearer ${user.fullToken}`);
      headers.append('Authorization', `Bearer ${second}`);
      const r = await direct('/me', { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    }
  });
});

/** RFC 9110 §12.5.1: media ranges are case-insensitive; q=0 is "not acceptable"; the highest q wins. */
describe('GET /qrcode content negotiation', () => {
  it.each([
    ['image/svg+xml;q=0, application/json', 'json'],
    ['IMAGE/SVG+XML', 'svg'],
    ['image/svg+xml;q=0.9, application/json;q=0.8', 'svg'],
    ['application/json;q=0.9, image/svg+xml', 'svg'],
    ['image/svg+xml, application/json', 'svg'],
    ['image/*', 'svg'],
    ['image/*;q=0.5, application/json;q=0.4', 'svg'],
    ['*/*', 'json'],
    ['*/*;q=0.1, image/svg+xml;q=0', 'json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    // Nothing offered is acceptable: API.md has no 406, and RFC 9110 §12.5.1 allows ignoring the header.
    ['text/plain', 'json'],
    ['image/svg+xml;q=0', 'json'],
    ['', 'json'],
    ['image/svg+xml;q=2', 'json'],
  ])('Accept: %j -> %s', async (accept, expected) => {
    setNow(T0 + 2400);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    expect((await call('/create-otp', { method: 'POST', token })).status).toBe(201);
    const r = await call('/qrcode', { token, headers: { Accept: accept } });
    expect(r.status).toBe(200);
    expect(r.headers.get('Vary')).toMatch(/\bAccept\b/);
    if (expected === 'svg') {
      expect(r.headers.get('Content-Type')).toMatch(/^image\/svg\+xml/);
      expect(r.text).toContain('<svg');
    } else {
      expect(r.headers.get('Content-Type')).toMatch(/^application\/json/);
      expect(r.body).toHaveProperty('imageUrl');
    }
  });

  it('negotiate: the most specific matching range sets the q of each type', () => {
    const offered = ['application/json', 'image/svg+xml'] as const;
    expect(negotiate('image/*;q=0, image/svg+xml', offered)).toBe('image/svg+xml');
    expect(negotiate('image/svg+xml;q=0, image/*', offered)).toBe('application/json');
    expect(negotiate('*/*;q=0.5, application/json;q=0', offered)).toBe('image/svg+xml');
    expect(negotiate('image/svg+xml ; Q=0.000 , application/json', offered)).toBe('application/json');
    expect(negotiate('garbage, image/svg+xml;q=0.3', offered)).toBe('image/svg+xml');
    expect(negotiate(undefined, offered)).toBe('application/json');
  });
});

/**
 * A browser app on a listed origin must be able to read why it got a 401 and
 * how long a 429 lasts: without Access-Control-Expose-Headers those headers are
 * hidden from the page (Fetch standard, CORS-safelisted response headers).
 */
describe('CORS for a listed origin: DELETE allowed, Retry-After and WWW-Authenticate exposed', () => {
  const vars = { CORS_ORIGINS: 'https://app.example' };
  const origin = 'https://app.example';

  it('the preflight of a DELETE with a bearer token is allowed', async () => {
    const pre = await direct(
      '/sessions/abc',
      { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'DELETE', 'Access-Control-Request-Headers': 'authorization' } },
      vars,
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(pre.headers.get('Access-Control-Allow-Methods')).toMatch(/\bDELETE\b/);
    expect(pre.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toMatch(/authorization/);
  });

  it('a 401 is readable: origin allowed, WWW-Authenticate exposed', async () => {
    const r = await direct('/me', { headers: { Origin: origin, Authorization: 'Bearer bad.token.here' } }, vars);
    expect(r.status).toBe(401);
    expect(r.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    expect(r.headers.get('Access-Control-Expose-Headers')?.toLowerCase()).toMatch(/www-authenticate/);
  });

  it('a 429 is readable: origin allowed, Retry-After exposed', async () => {
    const user = await enrolledUser(T0 + 3000);
    const now = T0 + 3060;
    setNow(now);
    await setBudget(`otp:${user.id}`, 5, now + 30, now);
    const { token } = await loginUser(user.username);
    const r = await direct(
      '/otp-verify',
      { method: 'POST', headers: { Origin: origin, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ code: '000000' }) },
      vars,
    );
    expect(r.status).toBe(429);
    expect(r.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(r.headers.get('Retry-After')).toBe('30');
    expect(r.headers.get('Access-Control-Expose-Headers')?.toLowerCase()).toMatch(/retry-after/);
  });
});

describe('methods (API.md: an unknown path or method is 404 not_found)', () => {
  it('HEAD on a GET route answers as GET, without a body', async () => {
    const health = await direct('/health', { method: 'HEAD' });
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect(health.headers.get('Cache-Control')).toBe('no-store');
    const me = await direct('/me', { method: 'HEAD' });
    expect(me.status).toBe(401);
    expect(me.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await me.text()).toBe('');
  });

  it.each([
    ['POST', '/me'],
    ['GET', '/login'],
    ['PUT', '/register'],
    ['DELETE', '/login'],
    ['PATCH', '/otp-verify'],
    ['GET', '/otp-verify'],
  ])('%s %s -> 404 not_found (not 405)', async (method, path) => {
    const r = await direct(path, { method });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toBe('not_found');
  });

  it('OPTIONS without CORS configured is a method the API does not serve: 404, no CORS headers', async () => {
    const r = await direct('/login', { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } }, { CORS_ORIGINS: '' });
    expect(r.status).toBe(404);
    expect(r.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(r.headers.get('Access-Control-Allow-Methods')).toBeNull();
  });
});

/** RFC 8259 §8.1: JSON between systems is UTF-8; a body declared in another charset is not one we accept. */
describe('Content-Type charset', () => {
  it.each(['application/json; charset=latin1', 'application/json; charset=ISO-8859-1', 'application/json;charset=utf-16'])(
    '%s -> 415 unsupported_media_type, nothing stored',
    async (contentType) => {
      const r = await call('/register', { body: JSON.stringify({ username: 'charset_user', password: PASSWORD }), headers: { 'Content-Type': contentType } });
      expect(r.status).toBe(415);
      expect(r.body.error).toBe('unsupported_media_type');
      expect(await env.DB.prepare("SELECT 1 FROM users WHERE username_key = 'charset_user'").first()).toBeNull();
    },
  );

  it.each(['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'Application/JSON;charset=UTF8', 'application/json'])(
    '%s is JSON',
    async (contentType) => {
      const r = await call('/login', { body: JSON.stringify({ username: 'nobody_here', password: PASSWORD }), headers: { 'Content-Type': contentType } });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_credentials');
    },
  );
});
