import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, PASSWORD, setNow, totpAt, uniqueName, useRealTime } from '../helpers';
import { statusCounts, T0, throttleRow, verifyWith, wrongCode } from './support';

afterEach(useRealTime);

async function countSessions(userId: string, authorized: boolean): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND authorized = ?')
    .bind(userId, authorized ? 1 : 0)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('budgets and one-time codes hold under concurrency', () => {
  /**
   * AuthQuake ran many sessions in parallel so that guesses outpaced the
   * counter. Each attempt here takes its slot in one guarded upsert before the
   * code is looked at, so 50 at once evaluate exactly 5.
   */
  it('50 simultaneous wrong codes for one account: exactly 5 evaluated, 45 refused with 429', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const a = await loginUser(user.username);
    const b = await loginUser(user.username);
    const wrong = await wrongCode(user.secret, T0 + 60);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => verifyWith(i % 2 ? a.token : b.token, { code: wrong })),
    );
    expect(statusCounts(results)).toEqual({ 401: 5, 429: 45 });
    for (const r of results.filter((r) => r.status === 429)) expect(Number(r.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 5, locked_until: T0 + 60 + 30 });
  });

  /**
   * Gitea CVE-2021-45331: a TOTP code could be used again while still valid.
   * Ten requests at once with one valid code: the guarded first statement of
   * the batch lets exactly one through, and only one full session is made.
   */
  it('10 simultaneous requests with one valid code: exactly one 200 and one new full session', async () => {
    const user = await enrolledUser(T0 + 1000);
    const now = T0 + 1060;
    setNow(now);
    const { token } = await loginUser(user.username);
    const fullBefore = await countSessions(user.id, true);
    const code = await totpAt(user.secret, now);
    const results = await Promise.all(Array.from({ length: 10 }, () => verifyWith(token, { code })));
    const counts = statusCounts(results);
    expect(counts[200]).toBe(1);
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(9);
    for (const r of results.filter((r) => r.status === 401)) expect(r.body.error).toBe('invalid_code');
    expect(await countSessions(user.id, true)).toBe(fullBefore + 1);
    const winner = results.find((r) => r.status === 200)!;
    expect((await call('/me', { token: winner.body.token! })).status).toBe(200);
    // The step is spent: the same code is refused afterwards, in any session.
    const again = await loginUser(user.username);
    setNow(now + 31); // past the lock a burst of losers may have set
    const replay = await verifyWith(again.token, { code });
    expect(replay.status).toBe(401);
  });

  /** A username race: the unique index on the folded name decides, not the early lookup. */
  it('20 simultaneous registrations of one username (in several spellings): one 201, nineteen 409, one row', async () => {
    setNow(T0 + 2000);
    const base = uniqueName('racer');
    const spellings = [base, base.toUpperCase(), base[0]!.toUpperCase() + base.slice(1)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('/register', { json: { username: spellings[i % 3], password: PASSWORD } })),
    );
    expect(statusCounts(results)).toEqual({ 201: 1, 409: 19 });
    for (const r of results.filter((r) => r.status === 409)) expect(r.body).toMatchObject({ error: 'username_taken' });
    const rows = await env.DB.prepare('SELECT id FROM users WHERE username_key = ?').bind(base.toLowerCase()).all();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]).toMatchObject({ id: results.find((r) => r.status === 201)!.body.id });
  });
});
