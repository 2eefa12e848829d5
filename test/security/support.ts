import { env } from 'cloudflare:test';
import { call, totpAt } from '../helpers';
import { budgetRow, type BudgetRow } from '../budget';

/** A fixed instant in the middle of a 30 s step, so ±1 step stays predictable. */
export const T0 = 1_800_000_000 + 10;

/** A 6-digit code that is not valid for `secret` at any step the server accepts around `now`. */
export async function wrongCode(secret: string, now: number): Promise<string> {
  const valid = new Set(await Promise.all([-2, -1, 0, 1, 2].map((d) => totpAt(secret, now + d * 30))));
  for (let n = 0; ; n++) {
    const candidate = String((123_456 + n * 7_919) % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

export type ThrottleRow = BudgetRow;

/** A budget by its throttle key, wherever it is stored (test/budget.ts). */
export async function throttleRow(key: string): Promise<ThrottleRow | null> {
  return budgetRow(key);
}

export async function verifyWith(token: string, body: Record<string, unknown>) {
  return call<{ token?: string; error?: string }>('/otp-verify', { token, json: body });
}

/** Counts each status in a list of responses: { 401: 5, 429: 45 }. */
export function statusCounts(results: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
