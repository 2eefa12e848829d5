import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boundedSecondsVar, ConfigError, originListVar } from '../../src/settings/env-vars';
import { app } from '../../src/index';
import { getSettings } from '../../src/settings';
import { signToken, verifyToken } from '../../src/tokens/jwt';
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

/**
 * Misconfiguration by notation: `Number()` reads "1e3", "0x10", " 300" and ""
 * (as 0) without complaint, and a clamp turns "86400" into something else
 * silently. Every [vars] value is parsed strictly and bounded; a bad one is a
 * loud 500 at the first request whose log names the variable (API.md, Configuration).
 */
describe('strict [vars]', () => {
  const bad: [string, string][] = [
    ...['1e3', '0x10', ' 300', '300 ', '300.0', '', '+300', '-1', '0300', '1_000', '59', '3601', '86400'].map(
      (value): [string, string] => ['ACCESS_TOKEN_TTL_SECONDS', value],
    ),
    ...['0', '29', '301', '900', '3e2', '300s'].map((value): [string, string] => ['MFA_TOKEN_TTL_SECONDS', value]),
    ...['', ' edge-mfa', 'edge-mfa ', 'edge:mfa', 'edge\u200Bmfa', 'edge\u2800mfa', 'x'.repeat(65), '\uFF45dge'].map(
      (value): [string, string] => ['ISSUER', value],
    ),
    ...[
      '*',
      'https://app.example.com/',
      'https://app.example.com/path',
      'app.example.com',
      'https://App.example.com',
      'https://app.example.com:443',
      'ftp://app.example.com',
      'https://a.example.com,',
      'https://a.example.com,,https://b.example.com',
      'https://user@app.example.com',
      'https://app.example.com?x=1',
      'null',
      'https://a.example.com, *',
    ].map((value): [string, string] => ['CORS_ORIGINS', value]),
  ];

  for (const [name, value] of bad) {
    it(`${name}=${JSON.stringify(value)}: 500 internal, and the log names ${name}`, async () => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const r = await fetchWith({ ...env, [name]: value } as Env, '/health');
      expect(r.status).toBe(500);
      expect(JSON.parse(r.text)).toEqual({ error: 'internal', message: expect.any(String) });
      expect(errors.mock.calls.map((args) => args.map(String).join(' ')).join('\n')).toContain(name);
    });
  }

  it('a lifetime written as a TOML number (not a string) is refused too', () => {
    const fake = { ...env, ACCESS_TOKEN_TTL_SECONDS: 300 } as unknown as Env;
    expect(() => boundedSecondsVar(fake, 'ACCESS_TOKEN_TTL_SECONDS', { min: 60, max: 3600, default: 300 })).toThrow(ConfigError);
  });

  it('the bounds themselves are accepted; unset means the API.md default (300 and 300)', async () => {
    const bounds = { min: 60, max: 3600, default: 300 };
    for (const [value, seconds] of [['60', 60], ['3600', 3600], ['300', 300]] as const) {
      expect(boundedSecondsVar({ ...env, X_SECONDS: value } as Env, 'X_SECONDS', bounds)).toBe(seconds);
    }
    expect(boundedSecondsVar(env, 'NOT_SET_SECONDS', bounds)).toBe(300);
    const { ACCESS_TOKEN_TTL_SECONDS: _a, MFA_TOKEN_TTL_SECONDS: _m, ...rest } = env;
    const settings = await getSettings(rest as unknown as Env);
    expect([settings.accessTokenTtlSeconds, settings.mfaTokenTtlSeconds]).toEqual([300, 300]);
    expect((await getSettings({ ...env, MFA_TOKEN_TTL_SECONDS: '30' })).mfaTokenTtlSeconds).toBe(30);
  });

  it('CORS_ORIGINS: exact origins, blanks around commas allowed; unset or empty is none', () => {
    const read = (value: string | undefined) => originListVar({ ...env, CORS_ORIGINS: value } as Env, 'CORS_ORIGINS');
    expect(read('https://app.example.com, http://localhost:8787 ,https://xn--bcher-kva.example')).toEqual([
      'https://app.example.com',
      'http://localhost:8787',
      'https://xn--bcher-kva.example',
    ]);
    expect(read('')).toEqual([]);
    expect(read('  ')).toEqual([]);
    expect(read(undefined)).toEqual([]);
  });
});

/**
 * A long-lived password-only token: with the full token's lifetime raised to
 * an hour, a token that proves only the password must still die after its own
 * MFA_TOKEN_TTL_SECONDS, even if its `exp` claims more (API.md: at most 5 min).
 */
describe("the password-only token's lifetime does not depend on the full token's", () => {
  it('ACCESS 3600, MFA 300: a password-only token is refused at age 301, a full one is not', async () => {
    const settings = await getSettings({ ...env, ACCESS_TOKEN_TTL_SECONDS: '3600', MFA_TOKEN_TTL_SECONDS: '300' });
    const t0 = 1_900_000_000;
    const claims = { sub: 'u1', username: 'someone', sid: 's1', amr: ['pwd'] };
    // Both signed with an hour's exp: only the kind tells them apart.
    const passwordOnly = await signToken(settings, { ...claims, authorized: false }, t0, 3600);
    const full = await signToken(settings, { ...claims, authorized: true, amr: ['pwd', 'otp'] }, t0, 3600);
    expect(await verifyToken(settings, passwordOnly, t0 + 300)).toMatchObject({ authorized: false });
    expect(await verifyToken(settings, passwordOnly, t0 + 301)).toBeNull();
    expect(await verifyToken(settings, full, t0 + 301)).toMatchObject({ authorized: true });
    expect(await verifyToken(settings, full, t0 + 3599)).toMatchObject({ authorized: true });
    expect(await verifyToken(settings, full, t0 + 3601)).toBeNull();
  });

  it('ACCESS 60, MFA 300: a password-only token keeps its 300 s (jose is given the longer age)', async () => {
    const settings = await getSettings({ ...env, ACCESS_TOKEN_TTL_SECONDS: '60', MFA_TOKEN_TTL_SECONDS: '300' });
    const t0 = 1_900_000_000;
    const token = await signToken(settings, { sub: 'u1', username: 'someone', sid: 's1', amr: ['pwd'], authorized: false }, t0, 300);
    expect(await verifyToken(settings, token, t0 + 200)).toMatchObject({ authorized: false });
    // And an iat in the future is still refused.
    expect(await verifyToken(settings, token, t0 - 10)).toBeNull();
  });
});
