import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { snapshot, type ApiResult } from '../../helpers';

// The shared helpers, under this folder's names. (The flood filter's limit is
// lifted for the test pool in vitest.config.ts, so no per-file client IP is needed.)
export { call as api, enrolledUser as enrolled, loginUser as signIn, registerUser as signUp } from '../../helpers';

/**
 * Every account row (users, sessions, recovery codes), the failure counters
 * left out (throttles, the users row's counters): a wrong code or password is
 * meant to reserve an attempt there, and nothing else.
 */
export function accountRows(): Promise<string> {
  return snapshot(['users', 'sessions', 'recovery_codes'], true);
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

/** RFC 6750 §3.1: the challenge when a bearer token was presented but is not good. */
export const INVALID_TOKEN = 'Bearer error="invalid_token"';
/** RFC 6750 §3: a genuine token whose time is up says so (issue 23); a forged one never does. */
export const EXPIRED_TOKEN = 'Bearer error="invalid_token", error_description="The access token expired"';

/** 401 unauthorized with exactly the challenge API.md asks for: bare `Bearer` when no bearer token was presented. */
export function expectUnauthorized(r: ApiResult, challenge = 'Bearer'): void {
  expectError(r, 401, 'unauthorized');
  expect(r.headers.get('WWW-Authenticate')).toBe(challenge);
}
