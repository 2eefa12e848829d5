import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/scheduled/run';
import { getDb } from '../../src/db/client';
import { scheduled } from '../../src/scheduled';
import { snapshot } from '../helpers';

const T = 1_800_000_000;
const DAY = 86_400;
const GRACE = 7 * DAY;

async function runCron(atSeconds: number): Promise<void> {
  const controller = createScheduledController({ scheduledTime: new Date(atSeconds * 1000), cron: '17 3 * * *' });
  const ctx = createExecutionContext();
  await scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

async function exec(sql: string, ...params: unknown[]): Promise<void> {
  await env.DB.prepare(sql).bind(...params).run();
}

async function ids(table: string, column: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT ${column} AS v FROM ${table} ORDER BY 1`).all<{ v: string }>();
  return results.map((row) => row.v);
}

async function addUser(id: string, pending: { secret: string; expiresAt: number } | null = null, totp: string | null = null): Promise<void> {
  await exec(
    'INSERT INTO users (id, username, username_key, password_hash, created_at, totp_secret, pending_secret, pending_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    id, id, id, '$scrypt$x', T - 30 * DAY, totp, pending?.secret ?? null, pending?.expiresAt ?? null,
  );
}

interface SessionSeed { id: string; authorized?: 0 | 1; expiresAt: number; revokedAt?: number | null; lastUsedAt?: number }
async function addSession({ id, authorized = 1, expiresAt, revokedAt = null, lastUsedAt = T - 10 }: SessionSeed): Promise<void> {
  await exec(
    'INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    id, 'u1', authorized, expiresAt - DAY, expiresAt, revokedAt, lastUsedAt,
  );
}

async function addThrottle(key: string, failures: number, lockedUntil: number, updatedAt: number): Promise<void> {
  await exec('INSERT INTO throttles (key, failures, locked_until, updated_at) VALUES (?, ?, ?, ?)', key, failures, lockedUntil, updatedAt);
}

beforeEach(async () => {
  for (const table of ['sessions', 'throttles', 'recovery_codes', 'users']) await exec(`DELETE FROM ${table}`);
  await addUser('u1', null, 'sealed-active');
});

describe('cleanup on the daily Cron Trigger', () => {
  it('deletes dead sessions past the 7-day grace and leaves live and recent ones alone', async () => {
    await addSession({ id: 'live', expiresAt: T + DAY });
    await addSession({ id: 'live-password-only', authorized: 0, expiresAt: T + 200 });
    await addSession({ id: 'revoked-8d', expiresAt: T + DAY, revokedAt: T - GRACE - 1 });
    await addSession({ id: 'revoked-6d', expiresAt: T + DAY, revokedAt: T - GRACE + DAY });
    await addSession({ id: 'expired-8d', authorized: 0, expiresAt: T - GRACE - 1 });
    await addSession({ id: 'expired-at-grace', authorized: 0, expiresAt: T - GRACE });
    // Idle past the largest idle limit (3600 s) and then the grace; a renewed session can have a far expires_at.
    await addSession({ id: 'idle-dead', expiresAt: T + DAY, lastUsedAt: T - GRACE - 3601 });
    await addSession({ id: 'idle-recent', expiresAt: T + DAY, lastUsedAt: T - GRACE - 3599 });
    // A password-only session is not idle-limited: its end is expires_at alone.
    await addSession({ id: 'password-only-old-use', authorized: 0, expiresAt: T + 200, lastUsedAt: T - GRACE - 4000 });
    await runCron(T);
    expect(await ids('sessions', 'id')).toEqual(['expired-at-grace', 'idle-recent', 'live', 'live-password-only', 'password-only-old-use', 'revoked-6d']);
  });

  it('deletes throttle rows idle a day with no lock, keeps locks, recent attempts and the 100-failure cap', async () => {
    await addThrottle('pwd:nobody-old', 3, 0, T - DAY - 1); // an unknown username: no success will ever reset it
    await addThrottle('otp:u1-old', 9, T - DAY - 100, T - DAY - 130); // a lock that ended over a day ago
    await addThrottle('pwd:recent', 9, 0, T - DAY + 1);
    await addThrottle('pwd:lock-ended-recently', 10, T - DAY + 10, T - DAY - 500);
    await addThrottle('pwd:locked-now', 20, T + 600, T - 2 * DAY);
    await addThrottle('otp:factor-locked', 100, 0, T - 30 * DAY);
    await runCron(T);
    expect(await ids('throttles', 'key')).toEqual(['otp:factor-locked', 'pwd:lock-ended-recently', 'pwd:locked-now', 'pwd:recent']);
  });

  it('clears expired pending enrollments only, never the active secret', async () => {
    await addUser('expired', { secret: 'sealed-old', expiresAt: T - 1 }, 'sealed-keep');
    await addUser('at-now', { secret: 'sealed-now', expiresAt: T });
    await addUser('live', { secret: 'sealed-live', expiresAt: T + 1 });
    await runCron(T);
    const { results } = await env.DB.prepare('SELECT id, totp_secret, pending_secret, pending_expires_at FROM users ORDER BY id').all();
    expect(results).toEqual([
      { id: 'at-now', totp_secret: null, pending_secret: null, pending_expires_at: null },
      { id: 'expired', totp_secret: 'sealed-keep', pending_secret: null, pending_expires_at: null },
      { id: 'live', totp_secret: null, pending_secret: 'sealed-live', pending_expires_at: T + 1 },
      { id: 'u1', totp_secret: 'sealed-active', pending_secret: null, pending_expires_at: null },
    ]);
  });

  it('is idempotent: a second run changes nothing', async () => {
    await addSession({ id: 'live', expiresAt: T + DAY });
    await addSession({ id: 'old', expiresAt: T - GRACE - 1 });
    await addThrottle('pwd:x', 1, 0, T - 2 * DAY);
    await runCron(T);
    const after = await snapshot();
    await runCron(T);
    expect(await snapshot()).toBe(after);
    expect(await ids('sessions', 'id')).toEqual(['live']);
  });

  it('works in bounded chunks and carries the rest to the next run', async () => {
    await exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
       INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, last_used_at) SELECT 'dead-' || i, 'u1', 0, ?, ?, ? FROM n`,
      T - 9 * DAY, T - 8 * DAY, T - 9 * DAY,
    );
    await addSession({ id: 'live', expiresAt: T + DAY });
    const db = getDb(env.DB);
    const first = await runCleanup(db, T, { chunkRows: 40, chunksPerStep: 3 });
    expect(first.reports[0]).toMatchObject({ step: 'sessions', rows: 120, chunks: 3 });
    const second = await runCleanup(db, T, { chunkRows: 100, chunksPerStep: 3 });
    // 130 left: one full chunk, then a short one ends the step.
    expect(second.reports[0]).toMatchObject({ step: 'sessions', rows: 130, chunks: 2 });
    expect(await ids('sessions', 'id')).toEqual(['live']);
  });

  it('two runs at once delete each dead row once and no live row', async () => {
    await exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
       INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, revoked_at, last_used_at)
       SELECT printf('s%04d', i), 'u1', 1, ?, CASE WHEN i % 3 = 0 THEN ? ELSE ? END, NULL, ? FROM n`,
      T - 9 * DAY, T + DAY, T - 8 * DAY, T - 10,
    );
    const db = getDb(env.DB);
    const runs = await Promise.all([1, 2].map(() => runCleanup(db, T, { chunkRows: 50, chunksPerStep: 20 })));
    const deleted = runs.reduce((sum, run) => sum + run.reports[0]!.rows, 0);
    expect(deleted).toBe(400);
    expect(runs.flatMap((run) => run.errors)).toEqual([]);
    const left = await ids('sessions', 'id');
    expect(left).toHaveLength(200);
    expect(left.every((id) => Number(id.slice(1)) % 3 === 0)).toBe(true);
    // And through the real handler, twice at once: nothing more to do, nothing fails.
    await Promise.all([runCron(T), runCron(T)]);
    expect(await ids('sessions', 'id')).toEqual(left);
  });
});
