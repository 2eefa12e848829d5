import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTransientD1Error } from '../../src/db/transient';
import { faultyD1 } from '../db/faulty-d1';
import { bindings, callOn, count, runCron, shardEnv } from './support';

const T = 1_800_000_000;
const DAY = 86_400;
const GRACE = 7 * DAY;
const SHARDS = 4;

afterEach(() => vi.restoreAllMocks());

async function seed(db: D1Database, shard: number): Promise<void> {
  const user = `u${shard}`;
  await db.prepare("INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, '$scrypt$x', ?)").bind(user, user, user, T - 30 * DAY).run();
  const session = db.prepare('INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  await db.batch([
    session.bind(`live-${shard}`, user, 1, T - DAY, T + DAY, null, T - 10),
    session.bind(`revoked-recently-${shard}`, user, 1, T - DAY, T + DAY, T - GRACE + DAY, T - 10),
    session.bind(`revoked-long-ago-${shard}`, user, 1, T - 9 * DAY, T + DAY, T - GRACE - 1, T - 9 * DAY),
    session.bind(`expired-long-ago-${shard}`, user, 0, T - 9 * DAY, T - GRACE - 1, null, T - 9 * DAY),
    db.prepare('INSERT INTO throttles (key, failures, locked_until, updated_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)').bind(`pwd:locked-${shard}`, 20, T + 600, T - 2 * DAY, `pwd:stale-${shard}`, 3, 0, T - 2 * DAY),
  ]);
}

async function ids(db: D1Database, table: string, column: string): Promise<string[]> {
  const { results } = await db.prepare(`SELECT ${column} AS v FROM ${table} ORDER BY 1`).all<{ v: string }>();
  return results.map((row) => row.v);
}

describe('the Cron Trigger on shards', () => {
  it('cleans every shard: dead rows go on each, live rows stay on each; the keys rotate on the primary only', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const dbs = bindings(SHARDS);
    await Promise.all(dbs.map((db, shard) => seed(db, shard)));
    await runCron(shardEnv(SHARDS), T);
    for (const [shard, db] of dbs.entries()) {
      expect(await ids(db, 'sessions', 'id'), `shard ${shard}`).toEqual([`live-${shard}`, `revoked-recently-${shard}`]);
      expect(await ids(db, 'throttles', 'key'), `shard ${shard}`).toEqual([`pwd:locked-${shard}`]);
      expect(await ids(db, 'users', 'id')).toEqual([`u${shard}`]);
    }
    expect(await count(dbs[0]!, 'signing_keys')).toBeGreaterThan(0);
    for (const db of dbs.slice(1)) expect(await count(db, 'signing_keys')).toBe(0);
    // Twice, and twice at once: nothing more goes.
    const after = await Promise.all(dbs.map((db) => ids(db, 'sessions', 'id')));
    await Promise.all([runCron(shardEnv(SHARDS), T), runCron(shardEnv(SHARDS), T)]);
    expect(await Promise.all(dbs.map((db) => ids(db, 'sessions', 'id')))).toEqual(after);
  });

  it('one failing shard does not stop the others, and the run is reported as failed', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const dbs = bindings(SHARDS);
    await Promise.all(dbs.map((db) => db.prepare("INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, last_used_at) SELECT 'dead-' || id, id, 0, ?, ?, ? FROM users").bind(T - 9 * DAY, T - 8 * DAY, T - 9 * DAY).run()));
    const broken = faultyD1(env.DB_SHARD_2, { on: /sessions/, message: 'D1 DB is overloaded. Requests queued for too long.', times: 100 });
    const failure = await runCron({ ...shardEnv(SHARDS), DB_SHARD_2: broken.db } as Env, T).then(() => null, (error: unknown) => error);
    expect(isTransientD1Error(failure)).toBe(true);
    for (const [shard, db] of dbs.entries()) expect(await count(db, 'sessions', "id LIKE 'dead-%'"), `shard ${shard}`).toBe(shard === 2 ? 1 : 0);
  });
});

describe('/health on shards', () => {
  it('answers 200 when every shard answers, and 503 when one of them is overloaded', async () => {
    expect((await callOn(shardEnv(SHARDS), '/health')).status).toBe(200);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const overloaded = faultyD1(env.DB_SHARD_3, { on: /SELECT 1/, message: 'D1 DB is overloaded. Requests queued for too long.', times: 100 });
    const r = await callOn({ ...shardEnv(SHARDS), DB_SHARD_3: overloaded.db } as Env, '/health');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: 'unavailable' });
    // A shard the deployment does not use is not asked.
    expect((await callOn({ ...shardEnv(3), DB_SHARD_3: overloaded.db } as Env, '/health')).status).toBe(200);
    expect(overloaded.thrown()).toBe(1);
  });
});
