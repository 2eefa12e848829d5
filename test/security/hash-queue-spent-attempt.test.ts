/**
 * Attack: locking an owner out of their password with 503s. A login is refused
 * with `503 unavailable` when the isolate's password-hash queue is past its
 * bound (src/crypto/hash-gate.ts), and that 503 was meant to come "before the
 * attempt is taken from the password budget". But the check before the
 * reservation only sees the queue as it is then: a burst of logins all pass it
 * while each is still on its D1 round trips, all take an attempt from the
 * budget, and only then meet the full queue and get 503. Each such 503 counted
 * as a failure: an owner typing the right password into a flooded isolate
 * spent their 10 attempts without one guess and was locked out, and
 * someone flooding the isolate (any usernames) did that to everyone who tried
 * to log in meanwhile. Now a 503 from the queue never costs an attempt.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withHashSlot } from '../../src/crypto/hash-gate';
import { call, registerUser, setNow, useRealTime, type ApiResult } from '../helpers';

afterEach(useRealTime);

const T0 = 1_950_730_000;
const HASH_MS = 250;

async function pwdFailures(userId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT pwd_failures FROM users WHERE id = ?').bind(userId).first<{ pwd_failures: number }>();
  return row!.pwd_failures;
}

describe('a 503 from the password-hash queue never costs a password attempt', () => {
  it('attack: a burst of logins with the right password, some past the bound: the 503s leave the budget as they found it', async () => {
    setNow(T0);
    const user = await registerUser();
    // The gate measures one hash at HASH_MS on the fake clock.
    await withHashSlot(async () => void vi.setSystemTime(Date.now() + HASH_MS));
    // A hash in progress holds the slot (its fake clock never advances: the queue waits).
    let release!: () => void;
    const held = withHashSlot(() => new Promise<void>((resolve) => (release = resolve)));

    const burst = 9; // under the 10 failures that set the password lock
    const answers: ApiResult[] = [];
    const logins = Array.from({ length: burst }, () => call('/login', { json: { username: user.username, password: user.password } }).then((r) => void answers.push(r)));
    // Wait until the queue has turned some away (they answer at once; the admitted wait for the slot).
    for (let i = 0; i < 400 && !answers.some((r) => r.status === 503); i++) await scheduler.wait(5);
    const refused = answers.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.body).toMatchObject({ error: 'unavailable' });
    // Only the requests still waiting may have taken an attempt; every 503 took none.
    expect(await pwdFailures(user.id)).toBeLessThanOrEqual(burst - refused.length);

    release();
    await Promise.all([held, ...logins]);
    expect(answers.filter((r) => r.status !== 503).map((r) => r.status)).toEqual(Array(burst - refused.length).fill(200));
    expect(await pwdFailures(user.id)).toBe(0);
  });
});
