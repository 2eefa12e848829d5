import { env } from 'cloudflare:test';

/**
 * Reads and writes a failure budget by its throttle key, wherever it is stored:
 * `otp:<user id>` and `pwd:<username key>` of an existing account live on the
 * users row (src/core/throttle/user-throttle.ts); any other key (an unknown username,
 * `webauthn:`, `admin:`) in the `throttles` table. A budget at zero with no
 * lock reads as null, as a deleted throttle row did: "nothing counted".
 */
export interface BudgetRow {
  key: string;
  failures: number;
  locked_until: number;
}

function userColumns(key: string): { prefix: 'otp' | 'pwd'; where: string; subject: string } | null {
  const [kind, ...rest] = key.split(':');
  const subject = rest.join(':');
  if (kind === 'otp') return { prefix: 'otp', where: 'id = ?', subject };
  if (kind === 'pwd') return { prefix: 'pwd', where: 'username_key = ?', subject };
  return null;
}

async function onUserRow(key: string) {
  const columns = userColumns(key);
  if (!columns) return null;
  const user = await env.DB.prepare(`SELECT id FROM users WHERE ${columns.where}`).bind(columns.subject).first<{ id: string }>();
  return user ? { ...columns, userId: user.id } : null;
}

export async function budgetRow(key: string): Promise<BudgetRow | null> {
  const user = await onUserRow(key);
  if (!user) return env.DB.prepare('SELECT key, failures, locked_until FROM throttles WHERE key = ?').bind(key).first<BudgetRow>();
  const row = await env.DB.prepare(`SELECT ${user.prefix}_failures AS failures, ${user.prefix}_locked_until AS locked_until FROM users WHERE id = ?`)
    .bind(user.userId)
    .first<{ failures: number; locked_until: number }>();
  if (!row || (row.failures === 0 && row.locked_until === 0)) return null;
  return { key, ...row };
}

/** Sets a budget as if that many attempts had been counted (INSERT OR REPLACE of a throttle row, or the users row's columns). */
export async function setBudget(key: string, failures: number, lockedUntil: number, updatedAt: number): Promise<void> {
  const user = await onUserRow(key);
  if (!user) {
    await env.DB.prepare('INSERT OR REPLACE INTO throttles (key, failures, locked_until, updated_at) VALUES (?, ?, ?, ?)').bind(key, failures, lockedUntil, updatedAt).run();
    return;
  }
  await env.DB.prepare(`UPDATE users SET ${user.prefix}_failures = ?, ${user.prefix}_locked_until = ?, ${user.prefix}_updated_at = ? WHERE id = ?`)
    .bind(failures, lockedUntil, updatedAt, user.userId)
    .run();
}
