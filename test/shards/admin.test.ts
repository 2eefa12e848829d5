import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, setNow, useRealTime } from '../helpers';
import { adminOn, bindings, callOn, count, enrolledOn, nameOnShard, shardEnv, T0 } from './support';

afterEach(useRealTime);

const SHARDS = 4;
const workerEnv = shardEnv(SHARDS);
type Enrolled = Awaited<ReturnType<typeof enrolledOn>>;
const users: Enrolled[] = [];

beforeAll(async () => {
  for (let shard = 0; shard < SHARDS; shard++) users.push(await enrolledOn(workerEnv, T0, nameOnShard(shard, SHARDS, 'Desk')));
  useRealTime();
}, 120_000);

describe('the support desk across shards', () => {
  it('finds a user on every shard by username, without regard to case or width', async () => {
    setNow(T0 + 10);
    for (const user of users) {
      const fullwidth = user.username.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
      for (const asked of [user.username, user.username.toUpperCase(), user.username.toLowerCase(), fullwidth]) {
        const r = await adminOn<{ id: string; username: string }>(workerEnv, `/admin/users?username=${encodeURIComponent(asked)}`);
        expect(r.status, r.text).toBe(200);
        expect(r.body).toMatchObject({ id: user.id, username: user.username });
      }
    }
    expect((await adminOn(workerEnv, '/admin/users?username=nobody-at-all')).status).toBe(404);
  });

  it('acts by id on every shard: unlock, MFA reset and reset tokens land on the user’s shard', async () => {
    setNow(T0 + 20);
    for (const [shard, user] of users.entries()) {
      const db = bindings(SHARDS)[shard]!;
      expect((await adminOn(workerEnv, `/admin/users/${user.id}/unlock`, { json: { reason: 'ticket 7' } })).status).toBe(200);
      expect(await count(db, 'security_events', "user_id = ? AND type = 'admin_unlock'", user.id)).toBe(1);
      expect((await adminOn(workerEnv, `/admin/users/${user.id}/reset-mfa`, { json: { reason: 'ticket 8' } })).status).toBe(200);
      expect(await count(db, 'users', 'id = ? AND totp_secret IS NULL', user.id)).toBe(1);
      // Every session of the user revoked: the old token is dead.
      expect((await callOn(workerEnv, '/me', { token: user.fullToken })).status).toBe(401);
      const issued = await adminOn(workerEnv, `/admin/users/${user.id}/password-reset`, { json: { reason: 'ticket 9' } });
      expect(issued.status).toBe(201);
      expect(await count(db, 'password_resets', 'user_id = ?', user.id)).toBe(1);
      // The next login asks to enroll again.
      const login = await callOn<{ mfa: string }>(workerEnv, '/login', { json: { username: user.username, password: PASSWORD } });
      expect(login.body.mfa).toBe('enroll');
    }
    // Nothing for these users landed on another shard.
    const elsewhere = await Promise.all(
      users.map((user, shard) => Promise.all(bindings(SHARDS).filter((_, k) => k !== shard).map((db) => count(db, 'security_events', 'user_id = ?', user.id)))),
    );
    expect(elsewhere.flat().every((n) => n === 0)).toBe(true);
  }, 60_000);
});
