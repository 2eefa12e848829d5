import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import app from '../../src/index';
import { BASE, PASSWORD } from '../helpers';

/**
 * A deployment mistake (a secret missing or too short) must fail loudly and
 * by name in the log, never fall back to a weak default, and never put a
 * secret, a stack trace or request data into the response.
 */
afterEach(() => {
  vi.restoreAllMocks();
});

async function fetchWith(bindings: Env, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`, init), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

function loginRequest(): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'config_user', password: PASSWORD }),
  };
}

const SHORT_KEY = 'short-key-0123456789abcdefghijk'; // 31 characters
const cases: { name: string; variable: 'JWT_SECRET' | 'TOTP_ENCRYPTION_KEY'; bindings: () => Env }[] = [
  { name: 'JWT_SECRET empty', variable: 'JWT_SECRET', bindings: () => ({ ...env, JWT_SECRET: '' }) },
  {
    name: 'JWT_SECRET missing',
    variable: 'JWT_SECRET',
    bindings: () => {
      const { JWT_SECRET: _omitted, ...rest } = env;
      return rest as unknown as Env;
    },
  },
  { name: 'JWT_SECRET of 31 characters', variable: 'JWT_SECRET', bindings: () => ({ ...env, JWT_SECRET: SHORT_KEY }) },
  { name: 'TOTP_ENCRYPTION_KEY of 31 characters', variable: 'TOTP_ENCRYPTION_KEY', bindings: () => ({ ...env, TOTP_ENCRYPTION_KEY: SHORT_KEY }) },
  { name: 'TOTP_ENCRYPTION_KEY empty', variable: 'TOTP_ENCRYPTION_KEY', bindings: () => ({ ...env, TOTP_ENCRYPTION_KEY: '' }) },
];

describe('misconfigured secrets', () => {
  it('31 characters really is one short of the minimum', () => {
    expect(SHORT_KEY).toHaveLength(31);
  });

  for (const { name, variable, bindings } of cases) {
    it(`${name}: 500 { error: "internal" } with no secret in it, and the log names ${variable}`, async () => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      for (const [path, init] of [['/health', undefined], ['/login', loginRequest()]] as const) {
        errors.mockClear();
        const r = await fetchWith(bindings(), path, init);
        expect(r.status).toBe(500);
        expect(JSON.parse(r.text)).toEqual({ error: 'internal', message: expect.any(String) });
        expect(r.headers.get('Cache-Control')).toBe('no-store');
        for (const secret of [SHORT_KEY, env.JWT_SECRET, env.TOTP_ENCRYPTION_KEY, PASSWORD]) expect(r.text).not.toContain(secret);
        expect(r.text).not.toMatch(/ConfigError|at .*\.ts|stack/i);

        const logged = errors.mock.calls.map((args) => args.map(String).join(' ')).join('\n');
        expect(logged).toContain(variable);
        for (const secret of [SHORT_KEY, env.JWT_SECRET, env.TOTP_ENCRYPTION_KEY, PASSWORD]) expect(logged).not.toContain(secret);
      }
    });
  }

  it('fixing the secret takes effect without a new isolate (a failed load is not cached)', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const bindings = { ...env, JWT_SECRET: '' };
    expect((await fetchWith(bindings, '/health')).status).toBe(500);
    bindings.JWT_SECRET = env.JWT_SECRET;
    const fixed = await fetchWith(bindings, '/health');
    expect(fixed.status).toBe(200);
    expect(JSON.parse(fixed.text)).toEqual({ ok: true });
  });

  it('the control: the same call with the test bindings answers 200', async () => {
    const r = await fetchWith(env, '/health');
    expect(r.status).toBe(200);
  });
});
