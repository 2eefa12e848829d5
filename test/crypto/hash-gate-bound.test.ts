/**
 * Attack (or just a crowd): more logins and registrations at once than one
 * isolate can hash. One scrypt derivation runs at a time per isolate
 * (hash-gate.ts), and the queue in front of it had no bound: with 50 simulated
 * users for 60 s against `wrangler dev`, /login waited up to 57 s at p99 and
 * /register 74 s. A flood of password requests thus parked every honest login
 * behind it for a minute. Now the wait is bounded: past it, 503 unavailable
 * with Retry-After, as an overloaded D1 answers, and for a login before the
 * attempt is taken from the password budget.
 *
 * The hash is a fake whose duration is the fake clock's advance: no sleeps on
 * the real clock (only the gate's own 5 ms polls run).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_WAIT_MS, withHashSlot } from '../../src/crypto/hash-gate';
import { ApiError } from '../../src/core/errors';
import { call, registerUser, setNow, useRealTime } from '../helpers';
import { env } from 'cloudflare:test';

afterEach(useRealTime);

const T0 = 1_950_600_000;
const HASH_MS = 250;

/** A fake hash that "takes" HASH_MS on the fake clock: the gate measures it. */
async function fakeHash(): Promise<void> {
  await withHashSlot(async () => {
    vi.setSystemTime(Date.now() + HASH_MS);
  });
}

/** Holds the slot until released, as a hash in progress. */
function holdSlot() {
  let release!: () => void;
  const held = withHashSlot(() => new Promise<void>((resolve) => (release = resolve)));
  return { held, release: () => release() };
}

function refusal(error: unknown): { code: string; retryAfterSeconds: number | undefined } {
  expect(error).toBeInstanceOf(ApiError);
  const e = error as ApiError;
  return { code: e.code, retryAfterSeconds: e.extra.retryAfterSeconds };
}

describe('the hash queue is bounded (503 unavailable with Retry-After past it)', () => {
  it('with a hash measured at 250 ms, seven wait (each done within 2 s), the eighth is refused at once, and the admitted are served in order', async () => {
    setNow(T0);
    await fakeHash(); // the isolate now knows a hash takes 250 ms
    const holder = holdSlot();
    const order: number[] = [];
    // (1 in flight + k waiting + its own) × 250 ms ≤ 2000 ms: k = 0..6 are admitted.
    const admitted = Array.from({ length: 7 }, (_, i) => withHashSlot(async () => void order.push(i)));
    const eighth = await withHashSlot(async () => 'served').then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal(eighth)).toEqual({ code: 'unavailable', retryAfterSeconds: Math.ceil((9 * HASH_MS) / 1000) });
    holder.release();
    await holder.held;
    await Promise.all(admitted);
    // First come, first served: no admitted request is overtaken.
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Drained: the next one goes straight in.
    await expect(withHashSlot(async () => 'next')).resolves.toBe('next');
  });

  it('one admitted whose wait runs past the bound (hashes slower than measured) gives up with 503 instead of waiting on', async () => {
    setNow(T0);
    await fakeHash();
    const holder = holdSlot();
    // Two ahead are always served (a few sign-ins at once are no flood); the bound is for those behind.
    const alwaysServed = [withHashSlot(async () => 'a'), withHashSlot(async () => 'b')];
    const waiter = withHashSlot(async () => 'served').then(
      () => null,
      (error: unknown) => error,
    );
    await scheduler.wait(15);
    vi.setSystemTime(Date.now() + MAX_WAIT_MS - HASH_MS + 1);
    const given = await waiter;
    expect(refusal(given).code).toBe('unavailable');
    expect(refusal(given).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The holder "took" one hash time, so the measured estimate stays at 250 ms for the next test.
    vi.setSystemTime(T0 + 2 * HASH_MS);
    holder.release();
    await holder.held;
    expect(await Promise.all(alwaysServed)).toEqual(['a', 'b']);
  });

  it('POST /login with the queue full: 503 unavailable with Retry-After, and the password budget is not spent', async () => {
    setNow(T0);
    const user = await registerUser();
    await fakeHash();
    const holder = holdSlot();
    const queued = Array.from({ length: 7 }, () => withHashSlot(async () => undefined));
    const before = await env.DB.prepare('SELECT pwd_failures FROM users WHERE id = ?').bind(user.id).first<{ pwd_failures: number }>();
    const r = await call('/login', { json: { username: user.username, password: user.password } });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: 'unavailable' });
    expect(Number(r.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    const after = await env.DB.prepare('SELECT pwd_failures FROM users WHERE id = ?').bind(user.id).first<{ pwd_failures: number }>();
    expect(after).toEqual(before);
    const registered = await call('/register', { json: { username: `${user.username}x`, password: user.password } });
    expect(registered.status).toBe(503);
    expect(registered.headers.get('Retry-After')).not.toBeNull();
    holder.release();
    await Promise.all([holder.held, ...queued]);
    // Drained, the same login works.
    expect((await call('/login', { json: { username: user.username, password: user.password } })).status).toBe(200);
  });
});
