import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../src/index';
import { decodeJwtPayload, enrolledUser, loginUser, setNow, snapshot, useRealTime } from '../helpers';
import { T0 } from './support';

/**
 * Property-based fuzzing of every route with random bodies, headers and
 * tokens. Properties: never a 5xx; after a 4xx nothing stored changed, except
 * that a wrong guess (401 invalid_credentials or invalid_code) takes its slot
 * in the throttles table, by design. Requests go through the app in this
 * isolate (app.fetch) with the real D1, so thousands of them stay fast.
 */

const ROUTES = ['/register', '/login', '/create-otp', '/qrcode', '/otp-verify', '/me', '/recovery-codes', '/disable-otp', '/logout', '/health'];
const GUESS_ERRORS = new Set(['invalid_credentials', 'invalid_code']);

let tokens: string[];
/** How often each status was seen, to show the run reached past the auth checks. */
const seen = new Map<number, number>();

async function send(method: string, path: string, headers: Record<string, string>, body: BodyInit | undefined) {
  const ctx = createExecutionContext();
  const request = new Request(`https://mfa.test${path}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
  const response = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, text, headers: response.headers };
}

async function tables(): Promise<{ withoutThrottles: string; all: string }> {
  const all = await snapshot();
  const parsed = JSON.parse(all) as unknown[];
  return { all, withoutThrottles: JSON.stringify(parsed.slice(0, 3)) };
}

/** Storage as of the last request: one snapshot per request, compared after each 4xx. */
let baseline: { withoutThrottles: string; all: string };

/** Checks one request against the properties. */
async function checkRequest(method: string, path: string, headers: Record<string, string>, body: BodyInit | undefined) {
  const r = await send(method, path, headers, body);
  seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
  expect(r.status, `${method} ${path} → ${r.status} ${r.text.slice(0, 200)}`).toBeLessThan(500);
  expect(r.headers.get('Cache-Control')).toBe('no-store');
  const after = await tables();
  if (r.status >= 400) {
    let error: unknown;
    try {
      error = (JSON.parse(r.text) as { error?: unknown }).error;
    } catch {
      error = undefined;
    }
    // Every 4xx body is the JSON error of API.md (HEAD has no body).
    if (method !== 'HEAD') expect(typeof error, r.text.slice(0, 200)).toBe('string');
    if (GUESS_ERRORS.has(String(error))) expect(after.withoutThrottles).toBe(baseline.withoutThrottles);
    else expect(after.all, `${method} ${path} → ${r.status} ${String(error)} changed storage`).toBe(baseline.all);
  }
  baseline = after.all === baseline.all ? after : await keepTokensUsable();
}

/**
 * A lucky logout (204) or a run of wrong guesses would revoke the harness's
 * tokens or lock its users, and every later case would stop at 401 or 429.
 * Put them back so that the whole run exercises the routes behind them.
 */
async function keepTokensUsable() {
  const sids = tokens.map((t) => decodeJwtPayload(t).sid as string);
  await env.DB.batch([
    env.DB.prepare(`UPDATE sessions SET revoked_at = NULL WHERE id IN (?, ?, ?)`).bind(...sids),
    env.DB.prepare('DELETE FROM throttles'),
    env.DB.prepare('UPDATE users SET otp_failures = 0, otp_locked_until = 0, pwd_failures = 0, pwd_locked_until = 0'),
  ]);
  return tables();
}

const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZabcxyz[\\]^_`{|}~'.split('')), maxLength: 40 });
const wild = fc.string({ unit: 'binary', maxLength: 40 });

const jsonValue = fc.oneof(
  fc.jsonValue(),
  fc.record({ code: fc.oneof(wild, fc.integer(), fc.jsonValue()) }, { requiredKeys: [] }),
  fc.record({ token: fc.oneof(fc.stringMatching(/^[0-9 ]{0,8}$/), wild), recoveryCode: wild }, { requiredKeys: [] }),
  fc.record({ all: fc.jsonValue(), mfaEnabled: fc.jsonValue(), authorized: fc.jsonValue() }, { requiredKeys: [] }),
  // Credential shapes with names that fail validation, so no scrypt is spent on them.
  fc.record({ username: fc.oneof(fc.string({ maxLength: 2 }), wild.map((s) => `${s}:`), fc.integer()), password: fc.oneof(wild, fc.jsonValue()) }),
  fc.record({ password: fc.oneof(wild, fc.jsonValue(), fc.constant({ $ne: '' })) }),
);

const body = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v) ?? ''),
  wild,
  fc.uint8Array({ maxLength: 64 }),
  jsonValue.map((v) => `\uFEFF${JSON.stringify(v)}`),
  fc.constant(undefined),
);

const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'),
  printable,
);

/** Real tokens, mutated tokens and junk. */
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 2 }).map((i) => `Bearer ${tokens[i]}`),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.constantFrom(...'AQgw_-.'.split(''))).map(([i, at, ch]) => {
    const t = tokens[i]!;
    const pos = at % t.length;
    return `Bearer ${t.slice(0, pos)}${ch}${t.slice(pos + 1)}`;
  }),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat()).map(([i, n]) => `Bearer ${tokens[i]!.slice(0, n % tokens[i]!.length)}`),
  printable.map((s) => `Bearer ${s}`),
  printable,
  fc.array(fc.base64String({ maxLength: 40 }), { maxLength: 6 }).map((parts) => `Bearer ${parts.join('.')}`),
);

beforeAll(async () => {
  const user = await enrolledUser(T0);
  setNow(T0 + 60);
  const pwd = (await loginUser(user.username)).token;
  const fresh = (await loginUser((await enrolledUser(T0 + 60)).username)).token;
  setNow(T0 + 60);
  tokens = [user.fullToken, pwd, fresh];
  baseline = await tables();
});
afterAll(useRealTime);
afterAll(() => {
  // Not a property, a sanity check of the harness: the runs got past auth and validation.
  for (const status of [200, 201, 400, 401, 403, 415]) expect(seen.get(status) ?? 0, `status ${status} seen`).toBeGreaterThan(0);
});

/**
 * One request per status the sanity check wants, run before the random ones.
 * A 201 needs a real full token on /recovery-codes, which random draws reach
 * only a few times in a run's draws, so a run could otherwise miss it by chance.
 */
function knownPosts(): [string, BodyInit | undefined, string, string | undefined][] {
  const [full, pwd] = tokens;
  return [
    ['/recovery-codes', undefined, 'application/json', `Bearer ${full}`], // 201
    ['/otp-verify', '{"code":5}', 'application/json', `Bearer ${pwd}`], // 400
    ['/recovery-codes', undefined, 'application/json', `Bearer ${pwd}`], // 403
    ['/login', '{}', 'text/plain', undefined], // 415
  ];
}

function knownReads(): [string, string, string | undefined, Record<string, string>][] {
  return [
    ['GET', '/me', `Bearer ${tokens[0]}`, {}], // 200
    ['GET', '/me', undefined, {}], // 401
  ];
}

/**
 * Draws per run: each is a real request and two snapshots of D1 (about 20 ms
 * for a POST), and fast-check seeds every run afresh (a failure prints its
 * seed), so CI runs add up to far more than one run draws; the known requests
 * above are drawn every time.
 */
const POST_RUNS = 500;
const READ_RUNS = 400;

describe('fuzzing: never a 5xx, never a changed row after a 4xx', () => {
  it('random bodies and content types on every POST route, with and without tokens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), body, contentType, authorization, async (path, payload, type, auth) => {
        const headers: Record<string, string> = { 'Content-Type': type };
        if (auth !== undefined) headers.Authorization = auth;
        await checkRequest('POST', path, headers, payload);
      }),
      { numRuns: POST_RUNS, examples: knownPosts() },
    );
  }, 120_000);

  it('random tokens, methods, paths and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.oneof(fc.constantFrom(...ROUTES), printable.map((s) => `/${encodeURIComponent(s)}`), fc.constantFrom(...ROUTES).map((r) => `${r}/..%2f%00`)),
        authorization,
        fc.dictionary(fc.constantFrom('Accept', 'Origin', 'CF-Connecting-IP', 'X-Forwarded-For', 'Content-Length-X', 'Cookie'), printable, { maxKeys: 4 }),
        async (method, path, auth, extra) => {
          const headers: Record<string, string> = { ...extra };
          if (auth !== undefined) headers.Authorization = auth;
          await checkRequest(method, path, headers, method === 'POST' ? '{}' : undefined);
        },
      ),
      { numRuns: READ_RUNS, examples: knownReads() },
    );
  }, 120_000);
});
