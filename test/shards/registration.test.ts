import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, setNow, uniqueName, useRealTime } from '../helpers';
import { bindings, callOn, count, nameOnShard, shardEnv, shardOfName, T0 } from './support';

afterEach(useRealTime);

describe('registration on shards', () => {
  for (const shards of [2, 4]) {
    it(`${shards} shards: Alice, ALICE and fullwidth Ａｌｉｃｅ registered at once make exactly one account, on the key's shard`, async () => {
      // Attack: racing case and width variants of one name to get two accounts that look alike.
      const suffix = uniqueName('').replace(/_/g, '');
      const names = [`Alice${suffix}`, `ALICE${suffix}`, `Ａｌｉｃｅ${suffix}`];
      const shard = shardOfName(names[0]!, shards);
      expect(names.map((name) => shardOfName(name, shards))).toEqual([shard, shard, shard]);
      const results = await Promise.all(names.map((username) => callOn<{ id: string }>(shardEnv(shards), '/register', { json: { username, password: PASSWORD } })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      for (const r of results.filter((r) => r.status === 409)) expect(r.body).toMatchObject({ error: 'username_taken' });
      const id = results.find((r) => r.status === 201)!.body.id;
      expect(parseInt(id[0]!, 16)).toBe(shard);
      const key = `alice${suffix}`;
      const perShard = await Promise.all(bindings(shards).map((db) => count(db, 'users', 'username_key = ?', key)));
      expect(perShard).toEqual(bindings(shards).map((_, k) => (k === shard ? 1 : 0)));
    });
  }

  it('a user on each shard: the id carries its name’s shard, and the login’s session is there too', async () => {
    setNow(T0);
    const shards = 4;
    for (let target = 0; target < shards; target++) {
      const username = nameOnShard(target, shards, 'spread');
      const r = await callOn<{ id: string }>(shardEnv(shards), '/register', { json: { username, password: PASSWORD } });
      expect(r.status).toBe(201);
      const shard = shardOfName(username, shards);
      expect(parseInt(r.body.id[0]!, 16)).toBe(shard);
      expect(await count(bindings(shards)[shard]!, 'users', 'id = ?', r.body.id)).toBe(1);
      const login = await callOn<{ token: string }>(shardEnv(shards), '/login', { json: { username: username.toUpperCase(), password: PASSWORD } });
      expect(login.status).toBe(200);
      expect(await count(bindings(shards)[shard]!, 'sessions', 'user_id = ?', r.body.id)).toBe(1);
      expect(await Promise.all(bindings(shards).map((db) => count(db, 'users', 'id = ?', r.body.id)))).toEqual([0, 1, 2, 3].map((k) => (k === target ? 1 : 0)));
    }
  }, 120_000);

  it('a wrong password is throttled on the name’s shard, known or unknown name alike', async () => {
    setNow(T0 + 100);
    const shards = 4;
    const username = uniqueName('ghost');
    const r = await callOn(shardEnv(shards), '/login', { json: { username, password: 'wrong password here' } });
    expect(r.status).toBe(401);
    const where = `key = 'pwd:' || ?`;
    const perShard = await Promise.all(bindings(shards).map((db) => count(db, 'throttles', where, username.toLowerCase())));
    const shard = shardOfName(username, shards);
    expect(perShard[shard]).toBe(1);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
