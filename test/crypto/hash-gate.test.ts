import { afterEach, describe, expect, it, vi } from 'vitest';
import { withHashSlot } from '../../src/crypto/hash-gate';

afterEach(() => vi.useRealTimers());

describe('withHashSlot: one scrypt derivation in flight per isolate', () => {
  it('runs concurrent work one at a time and returns each result', async () => {
    let running = 0;
    let maxRunning = 0;
    // Each piece of work yields to the event loop before finishing, so without
    // the gate all five would be running at once (maxRunning 5); no timer needed.
    const work = (value: number) => async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      for (let turn = 0; turn < 3; turn++) await Promise.resolve();
      running -= 1;
      return value;
    };
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => withHashSlot(work(n))));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(maxRunning).toBe(1);
  });

  it('frees the slot when the work throws', async () => {
    await expect(withHashSlot(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withHashSlot(async () => 'next')).resolves.toBe('next');
  });

  it('reclaims a slot held longer than any hash can take (its request was cancelled)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    // A holder that never finishes, as if its request had been cancelled mid-hash.
    void withHashSlot(() => new Promise<never>(() => {}));
    let ran = false;
    const waiter = withHashSlot(async () => {
      ran = true;
    });
    // The waiter checked the slot when it was called and found it taken; it
    // polls again only after the gate's own timer, which the clock below decides.
    for (let turn = 0; turn < 3; turn++) await Promise.resolve();
    expect(ran).toBe(false);
    vi.setSystemTime(1_000_000 + 11_000);
    await waiter;
    expect(ran).toBe(true);
  });
});
