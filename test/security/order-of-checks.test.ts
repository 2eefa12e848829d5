import { afterEach, describe, expect, it } from 'vitest';
import { call, loginUser, registerUser, setNow, snapshot, useRealTime } from '../helpers';
import { T0 } from './support';

afterEach(useRealTime);

const BIG = 'x'.repeat(20_000);

/**
 * API.md, order of checks: an unknown path or method is 404 before its body
 * is read; on a token route a missing or dead token is 401 before a bad body
 * is 400/413/415. Otherwise an unauthenticated prober learns which paths
 * exist and how their bodies are parsed (the review found 400 and 413 here).
 */
describe('order of checks: the token before the body', () => {
  it.each(['/otp-verify', '/disable-otp', '/create-otp', '/recovery-codes', '/logout'])(
    'no token on %s: 401 whatever the body (malformed, oversized, wrong type)',
    async (path) => {
      const before = await snapshot();
      for (const [body, type] of [
        ['{', 'application/json'],
        ['{"code": 12}', 'application/json'],
        [BIG, 'application/json'],
        ['code=123456', 'application/x-www-form-urlencoded'],
      ] as const) {
        const r = await call(path, { method: 'POST', body, headers: { 'Content-Type': type } });
        expect(r.status, `${path} ${type} ${body.slice(0, 12)}`).toBe(401);
        expect(r.body.error).toBe('unauthorized');
        expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
      }
      expect(await snapshot()).toBe(before);
    },
  );

  it('a dead (logged-out) token with a malformed or oversized body: 401, on a route whose flow reads the session too', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(204);
    for (const path of ['/otp-verify', '/create-otp']) {
      for (const body of ['{', BIG, '{"code": []}']) {
        const r = await call(path, { method: 'POST', token, body, headers: { 'Content-Type': 'application/json' } });
        expect(r.status, `${path} ${body.slice(0, 12)}`).toBe(401);
        expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
      }
    }
  });
});

describe('order of checks: an unknown path or method before the body', () => {
  it.each([
    ['POST', '/nowhere'],
    ['POST', '/me'],
    ['PUT', '/login'],
    ['POST', '/otp-verify/extra'],
  ])('%s %s with a malformed, oversized or mistyped body: 404 not_found', async (method, path) => {
    const before = await snapshot();
    for (const [body, headers] of [
      ['{', { 'Content-Type': 'application/json' }],
      [BIG, { 'Content-Type': 'application/json' }],
      [BIG, { 'Content-Type': 'application/json', 'Content-Length': '999999' }],
      ['hello', { 'Content-Type': 'text/plain' }],
    ] as const) {
      const r = await call(path, { method, body, headers: { ...headers } });
      expect(r.status, `${method} ${path} ${body.slice(0, 12)}`).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    expect(await snapshot()).toBe(before);
  });
});
