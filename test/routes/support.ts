import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { call, PASSWORD, setNow, totpAt, uniqueName, type ApiResult, type CallOptions } from '../helpers';

/**
 * The /register and /login flood filter counts per client IP per wall-clock
 * minute, in a limiter shared by every test file of the run. Each route file
 * presents its own documentation-range address so that the suite's files do
 * not spend one another's budget.
 */
const CLIENT_IP = `2001:db8::${crypto.getRandomValues(new Uint16Array(2)).join(':')}`;

export function api<T = Record<string, unknown>>(path: string, options: CallOptions = {}): Promise<ApiResult<T>> {
  return call<T>(path, { ...options, headers: { 'CF-Connecting-IP': CLIENT_IP, ...options.headers } });
}

export async function signUp(username = uniqueName(), password = PASSWORD) {
  const r = await api<{ id: string; username: string }>('/register', { json: { username, password } });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
  return { id: r.body.id, username, password };
}

export async function signIn(username: string, password = PASSWORD) {
  const r = await api<{ token: string; mfa: string }>('/login', { json: { username, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body;
}

/** Registers, logs in, enrolls and confirms at `now`; leaves the fake clock there. */
export async function enrolled(now: number, username = uniqueName()) {
  setNow(now);
  const user = await signUp(username);
  const { token: pwdToken } = await signIn(username);
  const created = await api<{ secret: string }>('/create-otp', { method: 'POST', token: pwdToken });
  if (created.status !== 201) throw new Error(`create-otp failed: ${created.status} ${created.text}`);
  const verified = await api<{ token: string; recoveryCodes: string[] }>('/otp-verify', {
    token: pwdToken,
    json: { code: await totpAt(created.body.secret, now) },
  });
  if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${verified.text}`);
  return { ...user, secret: created.body.secret, fullToken: verified.body.token, recoveryCodes: verified.body.recoveryCodes };
}

/**
 * Every account row (users, sessions, recovery codes), throttles left out:
 * a wrong code or password is meant to reserve an attempt there, and nothing else.
 */
export async function accountRows(): Promise<string> {
  const tables = ['users', 'sessions', 'recovery_codes'];
  const parts = await Promise.all(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()));
  return JSON.stringify(parts.map((p) => p.results));
}

export interface StoredUser {
  id: string;
  username: string;
  username_key: string;
  totp_secret: string | null;
  totp_last_step: number;
  pending_secret: string | null;
  pending_expires_at: number | null;
}

export async function storedUser(id: string): Promise<StoredUser> {
  const row = await env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(id).first<StoredUser>();
  if (!row) throw new Error(`no user ${id}`);
  return row;
}

export async function userCount(): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM users').first<{ n: number }>();
  return row!.n;
}

/** The one shape of every error body (API.md), with its code. */
export function expectError(r: ApiResult, status: number, error: string): void {
  expect({ status: r.status, error: r.body?.error }).toEqual({ status, error });
  expect(r.body).toEqual({ error, message: expect.any(String), ...(r.body.issues ? { issues: r.body.issues } : {}) });
  expect(r.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(r.headers.get('Cache-Control')).toBe('no-store');
}

/** 401 unauthorized with exactly the challenge API.md asks for. */
export function expectUnauthorized(r: ApiResult): void {
  expectError(r, 401, 'unauthorized');
  expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
}
