import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, setNow, useRealTime } from '../helpers';
import { bindings, callOn, count, dump, enrolledOn, nameOnShard, shardEnv, T0 } from './support';

afterEach(useRealTime);

const SHARDS = 4;
const workerEnv = shardEnv(SHARDS);

/** The other shards' rows, before and after `act`: equal, or the change leaked out of the user's shard. */
async function otherShardsUntouched(shard: number, act: () => Promise<void>): Promise<void> {
  const others = bindings(SHARDS).filter((_, k) => k !== shard);
  const before = await Promise.all(others.map((db) => dump(db)));
  await act();
  expect(await Promise.all(others.map((db) => dump(db)))).toEqual(before);
}

beforeAll(async () => {
  // A user on every shard, so each other shard has live rows that could be hit.
  for (let shard = 0; shard < SHARDS; shard++) await enrolledOn(workerEnv, T0, nameOnShard(shard, SHARDS, 'bystander'));
  useRealTime();
}, 120_000);

describe('account changes stay within the user’s shard', () => {
  it('logout everywhere revokes the user’s sessions on its shard and nothing elsewhere', async () => {
    const user = await enrolledOn(workerEnv, T0 + 10, nameOnShard(1, SHARDS, 'leaver'));
    setNow(T0 + 20);
    const second = await callOn<{ token: string }>(workerEnv, '/login', { json: { username: user.username, password: PASSWORD } });
    expect(second.status).toBe(200);
    const shard1 = bindings(SHARDS)[1]!;
    const bystanderLive = await count(shard1, 'sessions', 'user_id != ? AND revoked_at IS NULL', user.id);
    await otherShardsUntouched(1, async () => {
      const r = await callOn(workerEnv, '/logout', { token: user.fullToken, json: { scope: 'all' } });
      expect(r.status, r.text).toBe(204);
    });
    expect(await count(shard1, 'sessions', 'user_id = ? AND revoked_at IS NULL', user.id)).toBe(0);
    expect(await count(shard1, 'sessions', 'user_id != ? AND revoked_at IS NULL', user.id)).toBe(bystanderLive);
    expect((await callOn(workerEnv, '/me', { token: user.fullToken })).status).toBe(401);
  });

  it('a password change touches only the user’s shard', async () => {
    const user = await enrolledOn(workerEnv, T0 + 30, nameOnShard(2, SHARDS, 'changer'));
    setNow(T0 + 40);
    const newPassword = 'another long passphrase 7';
    await otherShardsUntouched(2, async () => {
      const r = await callOn(workerEnv, '/password', { token: user.fullToken, json: { currentPassword: PASSWORD, newPassword } });
      expect(r.status, r.text).toBe(200);
    });
    expect(await count(bindings(SHARDS)[2]!, 'security_events', "user_id = ? AND type = 'password_changed'", user.id)).toBe(1);
    expect((await callOn(workerEnv, '/login', { json: { username: user.username, password: newPassword } })).status).toBe(200);
  });

  it('deleting the account removes it from its shard and leaves every other shard as it was', async () => {
    const user = await enrolledOn(workerEnv, T0 + 50, nameOnShard(3, SHARDS, 'deleter'));
    setNow(T0 + 60);
    const shard3 = bindings(SHARDS)[3]!;
    const othersOnShard = await count(shard3, 'users', 'id != ?', user.id);
    await otherShardsUntouched(3, async () => {
      const r = await callOn(workerEnv, '/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } });
      expect(r.status, r.text).toBe(204);
    });
    for (const [table, column] of [['users', 'id'], ['sessions', 'user_id'], ['recovery_codes', 'user_id']] as const) {
      expect(await count(shard3, table, `${column} = ?`, user.id), table).toBe(0);
    }
    expect(await count(shard3, 'users', 'id != ?', user.id)).toBe(othersOnShard);
    // The name is free again, on the same shard.
    const again = await callOn<{ id: string }>(workerEnv, '/register', { json: { username: user.username, password: PASSWORD } });
    expect(again.status).toBe(201);
    expect(again.body.id[0]).toBe('3');
  });
});
