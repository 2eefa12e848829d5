import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { vi } from 'vitest';
import { base32Decode } from '../src/crypto/base32';
import { importOtpKey } from '../src/crypto/hotp';
import { generateTotp } from '../src/crypto/totp';

export const BASE = 'https://mfa.test';

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  method?: string;
  token?: string;
  /** A value to send as JSON, or a raw string body. */
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/**
 * The pool's env without TEST_ONLY_SCRYPT_PARAMS (vitest.config.ts): passwords
 * hashed at the production cost, SCRYPT_PARAMS of wrangler.toml. One object,
 * so its settings load once per file.
 */
export const productionCostEnv: Env = (() => {
  const { TEST_ONLY_SCRYPT_PARAMS: _lowered, ...rest } = env;
  return rest as Env;
})();

/** One request through the app with `workerEnv`, as SELF would send it (used for env copies). */
export function callOn<T = Record<string, unknown>>(workerEnv: Env, path: string, options: CallOptions = {}): Promise<ApiResult<T>> {
  return callWith<T>(
    async (url, init) => {
      const { default: app } = await import('../src/index');
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request(url, init), workerEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
    path,
    options,
  );
}

let productionCost = false;

/**
 * For the rest of this test file, `call` (and registerUser, loginUser,
 * enrolledUser) hash passwords at the production cost: the password flows'
 * own tests and one journey run as production does; the rest of the suite
 * runs at the pool's lowered cost.
 */
export function atProductionHashCost(): void {
  productionCost = true;
}

/** One request through the real Worker (SELF) with its real D1; through `productionCostEnv` after atProductionHashCost(). */
export function call<T = Record<string, unknown>>(path: string, options: CallOptions = {}): Promise<ApiResult<T>> {
  if (productionCost) return callOn<T>(productionCostEnv, path, options);
  return callWith<T>((url, init) => SELF.fetch(url, init), path, options);
}

/**
 * GET of a file of the Worker's static assets (wrangler.toml [assets], built
 * by scripts/build-page.mjs), as the asset layer serves it in front of the
 * Worker (public/_headers applied). The pool's SELF runs the Worker only, so
 * the ASSETS binding answers here.
 */
export async function staticAsset(path: string): Promise<{ status: number; headers: Headers; text: string; bytes: ArrayBuffer }> {
  const response = await env.ASSETS.fetch(new URL(path, BASE));
  const bytes = await response.arrayBuffer();
  return { status: response.status, headers: response.headers, text: new TextDecoder().decode(bytes), bytes };
}

/** One request through `send` (SELF, or the app with another env), its body parsed as JSON when it is JSON. */
export async function callWith<T = Record<string, unknown>>(send: (url: string, init: RequestInit) => Promise<Response>, path: string, options: CallOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const response = await send(`${BASE}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Moves the clock the app reads (Date) without sleeping. */
export function setNow(seconds: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(seconds * 1000);
}

export function useRealTime(): void {
  vi.useRealTimers();
}

/** What an authenticator app shows for `secret` (base32) at `seconds`. */
export async function totpAt(secret: string, seconds: number): Promise<string> {
  const bytes = base32Decode(secret);
  if (!bytes) throw new Error('bad base32 secret');
  return generateTotp(await importOtpKey(bytes), seconds);
}

let counter = 0;
/** A username unique within this test file's isolated storage. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export const PASSWORD = 'correct horse battery staple';

export async function registerUser(username = uniqueName(), password = PASSWORD) {
  const r = await call<{ id: string; username: string }>('/register', { json: { username, password } });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
  return { id: r.body.id, username, password };
}

export async function loginUser(username: string, password = PASSWORD) {
  const r = await call<{ token: string; mfa: string }>('/login', { json: { username, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body;
}

/**
 * Registers, logs in, enrolls and confirms at time `now`; returns what a
 * client would hold afterwards. Leaves the fake clock at `now`.
 */
export async function enrolledUser(now: number, username = uniqueName()) {
  setNow(now);
  const user = await registerUser(username);
  const { token: pwdToken } = await loginUser(username);
  const created = await call<{ secret: string }>('/create-otp', { method: 'POST', token: pwdToken });
  const code = await totpAt(created.body.secret, now);
  const verified = await call<{ token: string; refreshToken: string; recoveryCodes: string[] }>('/otp-verify', {
    token: pwdToken,
    json: { code },
  });
  if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${verified.text}`);
  return {
    ...user,
    secret: created.body.secret,
    fullToken: verified.body.token,
    refreshToken: verified.body.refreshToken,
    recoveryCodes: verified.body.recoveryCodes,
    enrolledAt: now,
  };
}

/** The users row's failure counters (src/core/throttle/user-throttle.ts), which a counted attempt changes. */
const COUNTER_COLUMNS = ['otp_failures', 'otp_locked_until', 'otp_updated_at', 'pwd_failures', 'pwd_locked_until', 'pwd_updated_at'];

/**
 * Rows as stored, for "nothing changed" assertions. `withoutCounters`: the
 * users row's failure counters left out, for a check that an attempt was
 * counted and nothing else changed.
 */
export async function snapshot(tables = ['users', 'sessions', 'recovery_codes', 'throttles'], withoutCounters = false): Promise<string> {
  const parts = await Promise.all(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()));
  return JSON.stringify(
    parts.map((p, i) =>
      withoutCounters && tables[i] === 'users'
        ? p.results.map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !COUNTER_COLUMNS.includes(column))))
        : p.results,
    ),
  );
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1]!;
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  // The payload is UTF-8: decode the bytes, so non-ASCII usernames survive.
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
}

/**
 * `value` with one base64url character in its middle changed: a tampered signature
 * or tag that always differs. (Changing the last characters can leave the decoded
 * bytes as they were: the final character of an unpadded base64url string carries
 * padding bits a decoder ignores, so a test doing that failed about once in a
 * thousand runs.)
 */
export function withOneCharacterChanged(value: string): string {
  const at = Math.floor(value.length / 2);
  return `${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
}
