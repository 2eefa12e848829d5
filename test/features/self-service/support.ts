import type { EventView } from '../../../src/features/self-service/security-log';
import { env } from 'cloudflare:test';
import { call, loginUser, setNow, totpAt, type ApiResult, type CallOptions } from '../../helpers';

/** A fixed instant at the start of a 30 s step; each test adds its own offset. */
export const T0 = 1_800_000_000;

/** The ADMIN_TOKEN of vitest.config.ts. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789abcdef';

export function adminCall<T = Record<string, unknown>>(path: string, options: CallOptions = {}): Promise<ApiResult<T>> {
  return call<T>(path, { ...options, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...options.headers } });
}

/** An event as GET /me/security-events answers it: the flow's own view type. */
export type EventJson = EventView;

/** The user's event types as stored, oldest first. */
export async function storedEventTypes(userId: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT type FROM security_events WHERE user_id = ? ORDER BY at, seq').bind(userId).all<{ type: string }>();
  return results.map((row) => row.type);
}

export async function countRows(table: string, where: string, ...values: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).bind(...values).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Password, then a TOTP code, at `now`: a fresh full token (its auth_time is `now`). */
export async function fullLogin(username: string, secret: string, now: number, password?: string): Promise<string> {
  setNow(now);
  const { token } = await loginUser(username, password);
  const r = await call<{ token: string }>('/otp-verify', { token, json: { code: await totpAt(secret, now) } });
  if (r.status !== 200) throw new Error(`code login failed: ${r.status} ${r.text}`);
  return r.body.token;
}

const TRIGGER = 'account_fault';

/** A trigger that makes one statement of a batch fail (as test/security/atomicity.test.ts does). */
export async function injectFault(when: string): Promise<void> {
  await env.DB.prepare(`CREATE TRIGGER ${TRIGGER} ${when} BEGIN SELECT RAISE(ABORT, 'injected fault'); END`).run();
}

export async function removeFault(): Promise<void> {
  await env.DB.prepare(`DROP TRIGGER IF EXISTS ${TRIGGER}`).run();
}
