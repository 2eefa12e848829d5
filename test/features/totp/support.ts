import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { call, loginUser, PASSWORD, setNow, snapshot, totpAt } from '../../helpers';
import { budgetRow } from '../../budget';

/** A fixed instant at the start of a 30 s step; tests add offsets to pick steps. */
export const T0 = 1_800_000_000;

export interface Verified {
  token: string;
  authorized: boolean;
  expiresIn: number;
  recoveryCodes?: string[];
}

/** Logs in with the password and then a TOTP code from `secret`, both at `now`. */
export async function fullLogin(username: string, secret: string, now: number, password = PASSWORD): Promise<string> {
  setNow(now);
  const { token } = await loginUser(username, password);
  const r = await call<Verified>('/otp-verify', { token, json: { code: await totpAt(secret, now) } });
  if (r.status !== 200) throw new Error(`code login failed: ${r.status} ${r.text}`);
  return r.body.token;
}

/** 401 unauthorized with the Bearer challenge: what a revoked or expired token gets. */
export async function expectRevoked(token: string, path = '/me'): Promise<void> {
  const method = path === '/me' || path === '/qrcode' ? 'GET' : 'POST';
  const r = await call(path, { token, method });
  expect(r.status).toBe(401);
  expect(r.body).toMatchObject({ error: 'unauthorized' });
  expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
}

export async function expectLive(token: string): Promise<void> {
  const r = await call('/me', { token });
  expect(r.status, r.text).toBe(200);
}

export async function userRow(userId: string) {
  const row = await env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(userId).first<Record<string, unknown>>();
  if (!row) throw new Error('no such user');
  return row;
}

export async function recoveryRows(userId: string) {
  const { results } = await env.DB.prepare('SELECT * FROM recovery_codes WHERE user_id = ? ORDER BY id').bind(userId).all();
  return results as Array<{ id: string; code_hash: string; used_at: number | null }>;
}

export async function sessionRows(userId: string) {
  const { results } = await env.DB.prepare('SELECT * FROM sessions WHERE user_id = ? ORDER BY id').bind(userId).all();
  return results as Array<{ id: string; authorized: number; revoked_at: number | null }>;
}

/** Every table except the failure counters, which a refused attempt is allowed to change. */
export async function snapshotWithoutThrottles(): Promise<string> {
  return snapshot(['users', 'sessions', 'recovery_codes'], true);
}

/** A budget by its throttle key, wherever it is stored (test/budget.ts). */
export async function throttleRow(key: string) {
  return budgetRow(key);
}

/** A code for the same six digits that is certainly not `code`. */
export function wrongCode(code: string): string {
  return code
    .split('')
    .map((d) => String((Number(d) + 5) % 10))
    .join('');
}

/** Flips the first character of a recovery code to another base32 letter. */
export function wrongRecoveryCode(code: string): string {
  return (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
}
