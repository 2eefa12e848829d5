import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/index';
import { call, PASSWORD, setNow, totpAt, uniqueName, useRealTime } from '../helpers';
import { T0, wrongCode } from './support';

afterEach(useRealTime);

async function direct(path: string, init: RequestInit, vars: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`https://mfa.test${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe('Cache-Control: no-store and nosniff on every response', () => {
  it('on successes, errors, 204s and the SVG alike', async () => {
    setNow(T0);
    const username = uniqueName('hdr');
    const responses = [
      await call('/health'),
      await call('/register', { json: { username, password: PASSWORD } }),
      await call('/login', { json: { username, password: PASSWORD } }),
      await call('/login', { json: { username, password: 'wrong password' } }),
      await call('/nowhere'),
      await call('/me'),
      await call('/register', { body: '{', headers: { 'Content-Type': 'application/json' } }),
      await call('/register', { body: 'x'.repeat(20_000), headers: { 'Content-Type': 'application/json' } }),
    ];
    const token = (responses[2]!.body as { token: string }).token;
    responses.push(await call('/create-otp', { method: 'POST', token }));
    responses.push(await call('/qrcode', { token, headers: { Accept: 'image/svg+xml' } }));
    responses.push(await call('/logout', { method: 'POST', token }));
    expect(responses.map((r) => r.status)).toEqual([200, 201, 200, 401, 404, 401, 400, 413, 201, 200, 204]);
    for (const r of responses) {
      expect(r.headers.get('Cache-Control')).toBe('no-store');
      expect(r.headers.get('X-Content-Type-Options')).toBe('nosniff');
    }
  });
});

/**
 * Hono's CORS advisories: a reflected or wildcard origin lets any site read
 * responses. Here only exact listed origins are allowed, always with
 * `Vary: Origin`, never `*` and never credentials.
 */
describe('CORS only for the exact origins in CORS_ORIGINS', () => {
  const vars = { CORS_ORIGINS: 'https://app.example, https://admin.example' };
  const preflight = (origin: string) =>
    direct(
      '/login',
      {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      },
      vars,
    );

  it('a listed origin gets its own origin back, on the preflight and the request', async () => {
    const pre = await preflight('https://admin.example');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBe('https://admin.example');
    expect(pre.headers.get('Access-Control-Allow-Methods')).toMatch(/POST/);
    expect(pre.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toMatch(/authorization/);
    expect(pre.headers.get('Vary')).toMatch(/\bOrigin\b/);
    expect(pre.headers.get('Access-Control-Allow-Credentials')).toBeNull();

    const get = await direct('/health', { headers: { Origin: 'https://app.example' } }, vars);
    expect(get.status).toBe(200);
    expect(get.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example');
    expect(get.headers.get('Vary')).toMatch(/\bOrigin\b/);
    expect(get.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    expect(get.headers.get('Cache-Control')).toBe('no-store');
  });

  it.each([
    'https://evil.example',
    'https://app.example.evil.example',
    'https://evilapp.example',
    'http://app.example',
    'https://app.example:8443',
    'null',
    'https://app.example, https://admin.example',
    '*',
  ])('an unlisted origin %j gets no Access-Control-Allow-Origin', async (origin) => {
    for (const response of [await preflight(origin), await direct('/health', { headers: { Origin: origin } }, vars)]) {
      expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(response.headers.get('Access-Control-Allow-Credentials')).toBeNull();
      // Still varies by Origin, so a shared cache never serves one origin's answer to another.
      expect(response.headers.get('Vary')).toMatch(/\bOrigin\b/);
    }
  });

  it('with CORS_ORIGINS empty (the default) no origin is allowed, and never "*"', async () => {
    for (const origin of ['https://app.example', 'https://evil.example']) {
      const response = await direct('/health', { headers: { Origin: origin } }, { CORS_ORIGINS: '' });
      expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
    }
    const wildcard = await direct('/health', { headers: { Origin: 'https://evil.example' } }, { CORS_ORIGINS: '*' });
    expect(wildcard.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

/**
 * Secrets in logs are a leak that outlives every other fix. Capture every
 * line the app writes during a whole journey with failures, a lock and a
 * replay: none may contain the password, a code, the secret, a recovery code
 * or a token, and the security events must be there as JSON with the user.
 */
describe('structured security logs', () => {
  it('carry events with userId and reason, and never a password, code, secret, recovery code or token', async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
    const spies = [vi.spyOn(console, 'log').mockImplementation(capture), vi.spyOn(console, 'error').mockImplementation(capture)];
    const secrets: string[] = [PASSWORD];
    try {
      let now = T0 + 1000;
      setNow(now);
      const username = uniqueName('logged');
      const registered = await call<{ id: string }>('/register', { json: { username, password: PASSWORD } });
      const userId = registered.body.id;
      secrets.push('wrong password 123');
      await call('/login', { json: { username, password: 'wrong password 123' } });
      const login = await call<{ token: string }>('/login', { json: { username, password: PASSWORD } });
      secrets.push(login.body.token);
      const created = await call<{ secret: string; uri: string }>('/create-otp', { method: 'POST', token: login.body.token });
      secrets.push(created.body.secret, created.body.uri);
      await call('/qrcode', { token: login.body.token });
      const enrollCode = await totpAt(created.body.secret, now);
      const verified = await call<{ token: string; recoveryCodes: string[] }>('/otp-verify', { token: login.body.token, json: { code: enrollCode } });
      secrets.push(enrollCode, verified.body.token, ...verified.body.recoveryCodes, ...verified.body.recoveryCodes.map((c) => c.replace('-', '')));
      await call('/me', { token: verified.body.token });

      // Replay of the enrollment code in a new session, then five wrong codes: a lock.
      const second = await call<{ token: string }>('/login', { json: { username, password: PASSWORD } });
      secrets.push(second.body.token);
      expect((await call('/otp-verify', { token: second.body.token, json: { code: enrollCode } })).status).toBe(401);
      const wrong = await wrongCode(created.body.secret, now);
      secrets.push(wrong);
      for (let i = 0; i < 4; i++) await call('/otp-verify', { token: second.body.token, json: { code: wrong } });
      expect((await call('/otp-verify', { token: second.body.token, json: { code: wrong } })).status).toBe(429);

      now += 30;
      setNow(now);
      const recovery = await call<{ token: string }>('/otp-verify', { token: second.body.token, json: { recoveryCode: verified.body.recoveryCodes[0] } });
      expect(recovery.status).toBe(200);
      secrets.push(recovery.body.token);
      const third = await call<{ token: string }>('/login', { json: { username, password: PASSWORD } });
      const code = await totpAt(created.body.secret, now + 30);
      secrets.push(third.body.token, code);
      setNow(now + 30);
      expect((await call('/otp-verify', { token: third.body.token, json: { code } })).status).toBe(200);
      const regenerated = await call<{ recoveryCodes: string[] }>('/recovery-codes', { method: 'POST', token: recovery.body.token });
      secrets.push(...regenerated.body.recoveryCodes);
      await call('/disable-otp', { token: recovery.body.token, json: { password: 'wrong password 123' } });
      expect((await call('/disable-otp', { token: recovery.body.token, json: { password: PASSWORD } })).status).toBe(200);
      await call('/me', { token: recovery.body.token }); // revoked now
      await call('/me', { headers: { Authorization: `Bearer ${verified.body.token}x` } });

      spies.forEach((spy) => spy.mockRestore());
      expect(lines.length).toBeGreaterThan(15);
      for (const line of lines) {
        for (const secret of secrets) expect(line, 'a log line leaks a secret').not.toContain(secret);
        // Nor any JWT-shaped value or any 6-digit run that is a code we used.
        expect(line).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      }
      const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const mine = (event: string) => events.filter((e) => e.event === event && e.userId === userId);
      for (const e of events) expect(e).toMatchObject({ level: expect.any(String), event: expect.any(String) });
      expect(mine('login_failed')).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'wrong_password' })]));
      expect(mine('enrollment_started')).toEqual([expect.objectContaining({ reason: 'first' })]);
      expect(mine('enrollment_confirmed')).toHaveLength(1);
      expect(mine('replay_refused')).toEqual([expect.objectContaining({ reason: 'active' })]);
      expect(mine('code_failed').length).toBeGreaterThanOrEqual(4);
      expect(mine('locked')).toEqual([expect.objectContaining({ reason: 'otp', retryAfterSeconds: 30 })]);
      expect(mine('throttled')).toEqual([expect.objectContaining({ reason: 'otp', retryAfterSeconds: 30 })]);
      expect(mine('recovery_code_used')).toHaveLength(1);
      expect(mine('mfa_verified')).toHaveLength(1);
      expect(mine('mfa_disabled')).toEqual([expect.objectContaining({ reason: 'password' })]);
      expect(events.some((e) => e.event === 'token_refused' && typeof e.reason === 'string')).toBe(true);
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
  });
});
