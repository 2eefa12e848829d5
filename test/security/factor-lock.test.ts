import { env } from 'cloudflare:test';
import { setBudget } from '../budget';
import { afterEach, describe, expect, it } from 'vitest';
import { clearFactorLock } from '../../src/core/throttle/throttle';
import { getDb } from '../../src/db/client';
import { call, enrolledUser, loginUser, setNow, totpAt, useRealTime } from '../helpers';
import { T0, throttleRow, verifyWith, wrongCode } from './support';

afterEach(useRealTime);

/** Seeds the account's code budget as if `failures` consecutive codes had failed, no lock in force. */
async function seedFailures(userId: string, failures: number, now: number): Promise<void> {
  await setBudget(`otp:${userId}`, failures, now - 1, now - 1);
}

/**
 * Slow brute force under the lock schedule: at the one-hour lock, five
 * guesses an hour go on forever, about a 12 % chance a year of hitting a code.
 * NIST SP 800-63B-4 §3.2.2 caps consecutive failures at 100: then TOTP codes
 * get 403 factor_locked, before the code is looked at and without counting,
 * until a recovery code succeeds or an admin unlocks (API.md, Throttling).
 */
describe('the hard cap: 100 consecutive failed codes lock the TOTP factor', () => {
  it('99 failures: a right code still passes (the cap is not reached early)', async () => {
    const user = await enrolledUser(T0);
    const now = T0 + 60;
    setNow(now);
    await seedFailures(user.id, 99, now);
    const { token } = await loginUser(user.username);
    const ok = await verifyWith(token, { code: await totpAt(user.secret, now) });
    expect(ok.status).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
  });

  it('the 100th failure is still a 401; from then on even the right code is 403 factor_locked, not counted', async () => {
    const user = await enrolledUser(T0 + 600);
    const now = T0 + 660;
    setNow(now);
    await seedFailures(user.id, 99, now);
    const { token } = await loginUser(user.username);
    const hundredth = await verifyWith(token, { code: await wrongCode(user.secret, now) });
    expect(hundredth.status).toBe(401);
    expect(hundredth.body.error).toBe('invalid_code');
    const row = await throttleRow(`otp:${user.id}`);
    expect(row!.failures).toBe(100);

    // Long after every 429 lock has passed, TOTP codes stay refused.
    const later = now + 10 * 3600;
    setNow(later);
    const { token: fresh } = await loginUser(user.username);
    for (const code of [await totpAt(user.secret, later), await wrongCode(user.secret, later)]) {
      const r = await verifyWith(fresh, { code });
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('factor_locked');
      expect(r.headers.get('Retry-After')).toBeNull();
    }
    // Not counted, no lock extended.
    expect(await throttleRow(`otp:${user.id}`)).toEqual(row);
  });

  it('/disable-otp with a code is refused too; a recovery code still works and lifts the lock', async () => {
    const user = await enrolledUser(T0 + 1200);
    const now = T0 + 1260;
    setNow(now);
    await seedFailures(user.id, 100, now);
    const disable = await call('/disable-otp', { token: user.fullToken, json: { code: await totpAt(user.secret, now) } });
    expect(disable.status).toBe(403);
    expect(disable.body.error).toBe('factor_locked');

    const { token } = await loginUser(user.username);
    const recovered = await verifyWith(token, { recoveryCode: user.recoveryCodes[0]! });
    expect(recovered.status).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();

    const after = now + 60;
    setNow(after);
    const { token: again } = await loginUser(user.username);
    expect((await verifyWith(again, { code: await totpAt(user.secret, after) })).status).toBe(200);
  });

  it('a wrong recovery code past the cap is a 401 and counts, like any other', async () => {
    const user = await enrolledUser(T0 + 1800);
    const now = T0 + 1860;
    setNow(now);
    await seedFailures(user.id, 101, now);
    const { token } = await loginUser(user.username);
    const r = await verifyWith(token, { recoveryCode: 'AAAAA-AAAAA' });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_code');
    expect((await throttleRow(`otp:${user.id}`))!.failures).toBe(102);
  });

  it('clearFactorLock (the admin unlock) lifts it', async () => {
    const user = await enrolledUser(T0 + 2400);
    const now = T0 + 2460;
    setNow(now);
    await seedFailures(user.id, 150, now);
    const { token } = await loginUser(user.username);
    expect((await verifyWith(token, { code: await totpAt(user.secret, now) })).status).toBe(403);
    await clearFactorLock(getDb(env.DB), user.id);
    expect((await verifyWith(token, { code: await totpAt(user.secret, now) })).status).toBe(200);
  });
});
