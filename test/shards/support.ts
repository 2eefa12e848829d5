import { applyD1Migrations, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { scheduled } from '../../src/scheduled';
import { foldForComparison } from '../../src/core/identity';
import { shardForUsernameKey } from '../../src/db/shards';
import { callOn, PASSWORD, setNow, totpAt, uniqueName, type CallOptions } from '../helpers';

/** One request through the app with `workerEnv` (test/helpers.ts). */
export { callOn };

// Every shard gets DB's schema (test/setup.ts migrates DB alone); applying is idempotent.
await Promise.all([env.DB_SHARD_1, env.DB_SHARD_2, env.DB_SHARD_3].map((db) => applyD1Migrations(db, env.TEST_MIGRATIONS)));

/** The ADMIN_TOKEN of vitest.config.ts. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789abcdef';
export const T0 = 1_800_000_000;

const envs = new Map<number, Env>();

/** The pool's env asking for `count` shards: one object per count, so settings and key caches load once. */
export function shardEnv(count: number): Env {
  let copy = envs.get(count);
  if (!copy) {
    copy = { ...env, SHARD_COUNT: String(count) };
    envs.set(count, copy);
  }
  return copy;
}

/** The pool's D1 bindings, shard by shard (vitest.config.ts). */
export function bindings(count: number): D1Database[] {
  return [env.DB, env.DB_SHARD_1, env.DB_SHARD_2, env.DB_SHARD_3].slice(0, count);
}

export function adminOn<T = Record<string, unknown>>(workerEnv: Env, path: string, options: CallOptions = {}) {
  return callOn<T>(workerEnv, path, { ...options, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'CF-Connecting-IP': '203.0.113.7', ...options.headers } });
}

/** The shard a username lands on with `count` shards. */
export function shardOfName(username: string, count: number): number {
  return shardForUsernameKey(foldForComparison(username.normalize('NFKC').trim()), count);
}

/** A fresh username that hashes to `shard` of `count`. */
export function nameOnShard(shard: number, count: number, prefix = 'user'): string {
  for (;;) {
    const name = uniqueName(prefix);
    if (shardOfName(name, count) === shard) return name;
  }
}

/** Registers, logs in, enrolls and confirms through `workerEnv` at `now` (enrolledUser of test/helpers.ts). */
export async function enrolledOn(workerEnv: Env, now: number, username: string) {
  setNow(now);
  const registered = await callOn<{ id: string }>(workerEnv, '/register', { json: { username, password: PASSWORD } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const login = await callOn<{ token: string }>(workerEnv, '/login', { json: { username, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  const created = await callOn<{ secret: string }>(workerEnv, '/create-otp', { method: 'POST', token: login.body.token });
  const verified = await callOn<{ token: string; refreshToken: string }>(workerEnv, '/otp-verify', {
    token: login.body.token,
    json: { code: await totpAt(created.body.secret, now) },
  });
  if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${verified.text}`);
  return { id: registered.body.id, username, secret: created.body.secret, fullToken: verified.body.token, refreshToken: verified.body.refreshToken };
}

/** Every row of `tables` on one database, for "this shard was not touched". */
export async function dump(db: D1Database, tables = ['users', 'sessions', 'recovery_codes', 'throttles', 'security_events', 'password_resets']): Promise<string> {
  const parts = await Promise.all(tables.map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all()));
  return JSON.stringify(parts.map((part) => part.results));
}

export async function count(db: D1Database, table: string, where = '1', ...values: unknown[]): Promise<number> {
  const row = await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).bind(...values).first<{ n: number }>();
  return row!.n;
}

/** The scheduled handler of the Worker, at `atSeconds`, with `workerEnv`. */
export async function runCron(workerEnv: Env, atSeconds: number): Promise<void> {
  const controller = createScheduledController({ scheduledTime: new Date(atSeconds * 1000), cron: '17 3 * * *' });
  const ctx = createExecutionContext();
  await scheduled(controller, workerEnv, ctx);
  await waitOnExecutionContext(ctx);
}
