import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { budgetRow, setBudget } from '../budget';
import { call, PASSWORD, registerUser, setNow, uniqueName, useRealTime } from '../helpers';
import { T0 } from './support';

afterEach(useRealTime);

const DAY = 24 * 60 * 60;
const wrong = (username: string) => call('/login', { json: { username, password: 'not the password at all' } });

/**
 * An account's password budget is on its users row, an unknown username's in
 * a `throttles` row that the cron prunes after a day idle. If the two forgot
 * at different moments, an attacker could tell them apart: nine wrong
 * passwords, a day and a second of silence, two more: a lock would mean "this
 * account exists". Both count as zero from the same second on, whether or not
 * the cron has run (here it never does).
 */
describe('an account and an unknown username forget at the same moment', () => {
  it('just under a day idle: both remember the nine failures and lock at the tenth', async () => {
    const start = T0 + 10_000;
    setNow(start);
    const known = await registerUser();
    const unknown = uniqueName('ghost');
    for (const name of [known.username, unknown]) await setBudget(`pwd:${name.toLowerCase()}`, 9, 0, start);
    setNow(start + DAY);
    for (const name of [known.username, unknown]) {
      expect((await wrong(name)).status).toBe(401);
      expect((await wrong(name)).status).toBe(429);
      expect(await budgetRow(`pwd:${name.toLowerCase()}`)).toMatchObject({ failures: 10, locked_until: start + DAY + 30 });
    }
  });

  it('a day and a second idle: both count the next failure as the first', async () => {
    const start = T0 + 200_000;
    setNow(start);
    const known = await registerUser();
    const unknown = uniqueName('ghost');
    for (const name of [known.username, unknown]) await setBudget(`pwd:${name.toLowerCase()}`, 9, 0, start);
    setNow(start + DAY + 1);
    for (const name of [known.username, unknown]) {
      expect((await wrong(name)).status).toBe(401);
      expect((await wrong(name)).status).toBe(401);
      expect(await budgetRow(`pwd:${name.toLowerCase()}`)).toMatchObject({ failures: 2, locked_until: 0 });
    }
    expect((await call('/login', { json: { username: known.username, password: PASSWORD } })).status).toBe(200);
  });

  /** The factor lock is never forgotten: 100 failed codes stay 100 however long the silence (NIST SP 800-63B-4 §3.2.2). */
  it('a count at the 100-failure cap is not forgotten', async () => {
    const start = T0 + 400_000;
    setNow(start);
    const known = await registerUser();
    await setBudget(`pwd:${known.username.toLowerCase()}`, 100, 0, start);
    setNow(start + 30 * DAY);
    expect((await wrong(known.username)).status).toBe(401);
    expect(await budgetRow(`pwd:${known.username.toLowerCase()}`)).toMatchObject({ failures: 101 });
  });
});

/**
 * Deploy-time data: migration 0010 copies each account's live `otp:` and
 * `pwd:` throttle rows onto its users row, so a lock in force or a factor lock
 * (100 failed codes) survives the move; an unknown username's row stays where it is.
 */
describe('migration 0010 (copy_throttle_counts)', () => {
  it('copies the live counters of existing accounts and leaves the rest', async () => {
    setNow(T0 + 600_000);
    const user = await registerUser();
    const key = user.username.toLowerCase();
    const ghost = `pwd:${uniqueName('ghost')}`;
    await env.DB.batch([
      env.DB.prepare('INSERT INTO throttles (key, failures, locked_until, updated_at) VALUES (?, 100, 0, 5)').bind(`otp:${user.id}`),
      env.DB.prepare('INSERT INTO throttles (key, failures, locked_until, updated_at) VALUES (?, 10, 777, 6)').bind(`pwd:${key}`),
      env.DB.prepare('INSERT INTO throttles (key, failures, locked_until, updated_at) VALUES (?, 3, 0, 7)').bind(ghost),
    ]);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.includes('copy_throttle_counts'))!;
    expect(migration).toBeDefined();
    for (const query of migration.queries) await env.DB.prepare(query).run();
    const row = await env.DB.prepare('SELECT otp_failures, otp_locked_until, otp_updated_at, pwd_failures, pwd_locked_until, pwd_updated_at FROM users WHERE id = ?')
      .bind(user.id)
      .first();
    expect(row).toEqual({ otp_failures: 100, otp_locked_until: 0, otp_updated_at: 5, pwd_failures: 10, pwd_locked_until: 777, pwd_updated_at: 6 });
    expect(await env.DB.prepare('SELECT failures FROM throttles WHERE key = ?').bind(ghost).first()).toEqual({ failures: 3 });
  });
});
