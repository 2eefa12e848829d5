import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTransientD1Error, TRANSIENT_D1_MESSAGES, transientD1Kind } from '../../src/db/transient';
import { app } from '../../src/index';
import { call, enrolledUser, loginUser, setNow, snapshot, totpAt, useRealTime } from '../helpers';
import { faultyD1, type Fault } from './faulty-d1';

const T = 1_800_000_010;
const LOOKUP = /from "sessions" inner join "users"/;
// The /otp-verify commit: its first statement promotes the password-only session in place.
const COMMIT = /update "sessions" set "authorized"/;

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

async function send(path: string, fault: Fault, init: { token?: string; json?: unknown } = {}) {
  const faulty = faultyD1(env.DB, fault);
  const headers: Record<string, string> = {};
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  const request = new Request(`https://mfa.test${path}`, {
    method: init.json === undefined ? 'GET' : 'POST',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, DB: faulty.db }, ctx);
  await waitOnExecutionContext(ctx);
  return { response, body: (await response.json()) as Record<string, unknown>, thrown: faulty.thrown() };
}

async function fullSessions(userId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND authorized = 1').bind(userId).first<{ n: number }>();
  return row!.n;
}

describe('isTransientD1Error', () => {
  it.each(Object.entries(TRANSIENT_D1_MESSAGES))('knows %s, bare, with D1_ERROR and wrapped by drizzle', (kind, message) => {
    expect(transientD1Kind(new Error(message))).toBe(kind);
    expect(transientD1Kind(new Error(`D1_ERROR: ${message}: SQLITE_BUSY`))).toBe(kind);
    const wrapped = new DrizzleQueryError('select 1', [], new Error(`D1_ERROR: ${message.toUpperCase()}`));
    expect(isTransientD1Error(wrapped)).toBe(true);
    expect(isTransientD1Error(new Error('outer', { cause: wrapped }))).toBe(true);
  });

  it('refuses real query errors, non-errors and a cyclic cause chain', () => {
    expect(isTransientD1Error(new Error('D1_ERROR: UNIQUE constraint failed: users.username_key: SQLITE_CONSTRAINT'))).toBe(false);
    expect(isTransientD1Error(new DrizzleQueryError('select', [], new Error('no such table: sessions')))).toBe(false);
    expect(isTransientD1Error('D1 DB is overloaded')).toBe(false);
    expect(isTransientD1Error(undefined)).toBe(false);
    const cyclic = new Error('a');
    (cyclic as { cause?: unknown }).cause = cyclic;
    expect(isTransientD1Error(cyclic)).toBe(false);
  });
});

describe('overloaded or briefly unreachable D1', () => {
  // An overload must not look like a server bug (500) to clients and monitors,
  // and a client told when to retry does not hammer a struggling database.
  it.each(Object.values(TRANSIENT_D1_MESSAGES))('answers 503 unavailable with Retry-After for "%s", logged without the query', async (message) => {
    const user = await enrolledUser(T);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const { response, body, thrown } = await send('/me?secret-looking=value', { on: LOOKUP, message, times: 2 }, { token: user.fullToken });
    spy.mockRestore();
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('2');
    expect(body).toEqual({ error: 'unavailable', message: expect.any(String) });
    expect(thrown).toBe(2); // the read was tried, and retried once
    const events = lines.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'storage_unavailable');
    expect(events).toEqual([{ level: 'info', event: 'storage_unavailable', reason: transientD1Kind(new Error(message)), route: 'GET /me' }]);
    expect(lines.join('\n')).not.toContain('secret-looking');
  });

  it('retries the session lookup once, so one blip is invisible', async () => {
    const user = await enrolledUser(T);
    const { response, thrown } = await send('/me', { on: LOOKUP, message: 'D1 DB is overloaded', times: 1 }, { token: user.fullToken });
    expect(response.status).toBe(200);
    expect(thrown).toBe(1);
  });

  it('a non-transient D1 error stays a 500', async () => {
    const user = await enrolledUser(T);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { response, body } = await send('/me', { on: LOOKUP, message: 'no such column: sessions.nope: SQLITE_ERROR' }, { token: user.fullToken });
    expect(response.status).toBe(500);
    expect(body.error).toBe('internal');
  });

  it('does not retry a write: a failed /login reservation is 503 and writes nothing', async () => {
    const user = await enrolledUser(T);
    const before = await snapshot();
    const { response, thrown } = await send('/login', { on: /update "users" set "pwd_failures"/, message: 'D1 DB is overloaded', times: 1 }, { json: { username: user.username, password: user.password } });
    // One failure only: had the write been retried, it would have passed.
    expect(response.status).toBe(503);
    expect(thrown).toBe(1);
    expect(await snapshot()).toBe(before);
  });
});

describe('/otp-verify commit under transient errors', () => {
  async function passwordOnly(at: number) {
    const user = await enrolledUser(T);
    setNow(at);
    const { token } = await loginUser(user.username);
    return { user, token, code: await totpAt(user.secret, at) };
  }

  it('retries the commit when it did not land, and opens exactly one session', async () => {
    const { user, token, code } = await passwordOnly(T + 30);
    const sessionsBefore = await fullSessions(user.id);
    const { response, thrown } = await send('/otp-verify', { on: COMMIT, message: 'Network connection lost' }, { token, json: { code } });
    expect(response.status).toBe(200);
    expect(thrown).toBe(1);
    expect(await fullSessions(user.id)).toBe(sessionsBefore + 1);
  });

  it('when the commit landed but its answer was lost, finds the new session and answers 200 once', async () => {
    const { user, token, code } = await passwordOnly(T + 30);
    const sessionsBefore = await fullSessions(user.id);
    const { response, body, thrown } = await send('/otp-verify', { on: COMMIT, message: 'Internal error in D1 DB storage caused object to be reset', when: 'after' }, { token, json: { code } });
    expect(response.status).toBe(200);
    expect(thrown).toBe(1);
    expect(await fullSessions(user.id)).toBe(sessionsBefore + 1);
    expect((await call('/me', { token: body.token as string })).status).toBe(200);
    // The code was spent by the commit that landed: a replay is refused.
    expect((await call('/otp-verify', { token, json: { code } })).status).toBe(401);
  });

  it('answers 503 when the retry fails too, with nothing half-written: the code is still good', async () => {
    const { user, token, code } = await passwordOnly(T + 30);
    const before = await env.DB.prepare('SELECT totp_last_step AS step FROM users WHERE id = ?').bind(user.id).first<{ step: number }>();
    const sessionsBefore = await snapshot(['sessions']);
    const { response, thrown } = await send('/otp-verify', { on: COMMIT, message: 'D1 DB is overloaded', times: 2 }, { token, json: { code } });
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('2');
    expect(thrown).toBe(2);
    expect(await snapshot(['sessions'])).toBe(sessionsBefore);
    expect(await env.DB.prepare('SELECT totp_last_step AS step FROM users WHERE id = ?').bind(user.id).first()).toEqual(before);
    // The reserved attempt stays counted (as for any guess not yet resolved); the code itself is not spent.
    expect((await call('/otp-verify', { token, json: { code } })).status).toBe(200);
  });
});
