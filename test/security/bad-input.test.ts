import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, snapshot, useRealTime } from '../helpers';
import { ENVELOPE_CASES, SHAPE_CASES } from './hostile-bodies';
import { ADMIN_TOKEN, T0 } from '../features/self-service/support';

/**
 * Hostile and malformed requests on every route of issue 12: each gets the
 * 4xx of API.md, never a 5xx, and storage stays exactly as it was (no
 * throttle counted, no event written, no reset token consumed).
 */

const JSON_TYPE = { 'Content-Type': 'application/json' };
type Case = { name: string; body: () => BodyInit; headers?: Record<string, string>; expected: [number, string] };
const json = (value: unknown, expected: [number, string] = [400, 'validation_failed']): Case => ({
  name: `JSON ${JSON.stringify(value).slice(0, 60)}`,
  body: () => JSON.stringify(value),
  headers: JSON_TYPE,
  expected,
});
const empty: Case = { name: 'an empty body', body: () => '', headers: JSON_TYPE, expected: [400, 'invalid_json'] };

const TABLES = ['users', 'sessions', 'recovery_codes', 'throttles', 'security_events', 'password_resets'];

interface Route {
  method: 'POST' | 'DELETE';
  path: string;
  auth: 'full' | 'admin' | 'none';
  cases: Case[];
}

const ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/password',
    auth: 'full',
    cases: [
      empty,
      json({}),
      json({ currentPassword: 'correct horse battery staple' }),
      json({ newPassword: 'a fine new password' }),
      json({ currentPassword: 12345678, newPassword: 'a fine new password' }),
      json({ currentPassword: { $ne: '' }, newPassword: 'a fine new password' }),
      json({ currentPassword: 'p'.repeat(10_000), newPassword: 'a fine new password' }),
      json({ currentPassword: 'correct horse battery staple', newPassword: ['x'] }),
      json({ currentPassword: null, newPassword: null }),
    ],
  },
  {
    method: 'DELETE',
    path: '/me',
    auth: 'full',
    cases: [empty, json({}), json({ password: 12345678 }), json({ password: { $ne: '' } }), json({ password: null }), json({ password: 'p'.repeat(10_000) })],
  },
  {
    method: 'POST',
    path: '/password/reset',
    auth: 'none',
    cases: [
      empty,
      json({}),
      json({ resetToken: 'abc' }),
      json({ newPassword: 'a fine new password' }),
      json({ resetToken: 42, newPassword: 'a fine new password' }),
      json({ resetToken: { $ne: '' }, newPassword: 'a fine new password' }),
      json({ resetToken: 'x'.repeat(10_000), newPassword: 'a fine new password' }),
      json({ resetToken: 'abc', newPassword: 12345678 }),
      json({ resetToken: 'abc', newPassword: 'a fine new password' }, [401, 'invalid_reset_token']),
    ],
  },
  ...(['reset-mfa', 'unlock', 'password-reset'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/admin/users/USER/${action}`,
      auth: 'admin',
      cases: [empty, json({}), json({ reason: '' }), json({ reason: ' \t ' }), json({ reason: 42 }), json({ reason: ['x'] }), json({ reason: 'x'.repeat(501) })],
    }),
  ),
];

let tokens: { pwd: string; full: string; userId: string };
let before: string;

beforeAll(async () => {
  const user = await enrolledUser(T0);
  tokens = { pwd: (await loginUser(user.username)).token, full: user.fullToken, userId: user.id };
  before = await snapshot(TABLES);
});
afterAll(useRealTime);

function authHeader(route: Route): Record<string, string> {
  if (route.auth === 'full') return { Authorization: `Bearer ${tokens.full}` };
  if (route.auth === 'admin') return { Authorization: `Bearer ${ADMIN_TOKEN}` };
  return {};
}

describe.each(ROUTES)('$method $path with a bad body', (route) => {
  it.each([...ENVELOPE_CASES, ...SHAPE_CASES, ...route.cases])('$name → $expected.0 and nothing stored', async ({ body, headers, expected }) => {
    const path = route.path.replace('USER', tokens.userId);
    const r = await call(path, { method: route.method, body: body(), headers: { ...headers, ...authHeader(route) } });
    expect([r.status, r.body]).toEqual([expected[0], expect.objectContaining({ error: expected[1], message: expect.any(String) })]);
    expect(await snapshot(TABLES)).toBe(before);
  });
});

describe('tokens of the wrong kind', () => {
  it('a password-only token gets 403 mfa_required on every full route, before its body is read', async () => {
    for (const [method, path] of [
      ['POST', '/password'],
      ['DELETE', '/me'],
      ['GET', '/me/security-events'],
    ] as const) {
      const r = await call(path, { method, token: tokens.pwd, body: method === 'GET' ? undefined : '{"broken', headers: JSON_TYPE });
      expect(r.status, path).toBe(403);
      expect(r.body).toMatchObject({ error: 'mfa_required' });
    }
    expect(await snapshot(TABLES)).toBe(before);
  });

  it('no token is 401 before a bad body is 400; a user token on an admin route is 401', async () => {
    for (const [method, path] of [
      ['POST', '/password'],
      ['DELETE', '/me'],
      ['GET', '/me/security-events?limit=0'],
    ] as const) {
      const r = await call(path, { method, body: method === 'GET' ? undefined : '{"broken', headers: JSON_TYPE });
      expect(r.status, path).toBe(401);
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
    }
    // A wrong admin token is counted (throttles), and nothing else changes: the user keeps the second factor.
    const withoutThrottles = TABLES.filter((t) => t !== 'throttles');
    const stored = await snapshot(withoutThrottles);
    const admin = await call(`/admin/users/${tokens.userId}/reset-mfa`, { token: tokens.full, json: { reason: 'x' } });
    expect(admin.status).toBe(401);
    expect(await snapshot(withoutThrottles)).toBe(stored);
    expect((await call('/me', { token: tokens.full })).body).toMatchObject({ mfaEnabled: true });
  });

  it('an unknown method on a new path is 404 before the body is read', async () => {
    const r = await call('/password', { method: 'PUT', body: '{"broken', headers: JSON_TYPE });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: 'not_found' });
  });
});
