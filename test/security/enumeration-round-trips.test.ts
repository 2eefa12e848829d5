import { afterEach, describe, expect, it } from 'vitest';
import { registerUser, setNow, uniqueName, useRealTime } from '../helpers';
import { fetchWith, interleavedDb } from './interleave';

const T0 = 1_900_000_000;

afterEach(() => useRealTime());

/** A /login through the app, and how many D1 round trips it made (statements and batches). */
async function loginRoundTrips(username: string, password: string): Promise<{ status: number; roundTrips: number }> {
  let roundTrips = 0;
  const db = interleavedDb(() => {
    roundTrips++;
  });
  const response = await fetchWith(db, '/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: response.status, roundTrips };
}

// Attack: account enumeration by timing. Lock a name with wrong passwords, then
// time the 429s (free to repeat: a refused attempt neither counts nor extends
// the lock). An account's counters live on its users row and an unknown name's
// in a throttle row; if either path made one more D1 round trip, its median
// latency would tell which names have accounts (API.md: comparable time).
// It counts round trips, which the hash cost does not change, so it runs at the
// pool's lowered cost; the equal scrypt work is enumeration.test.ts's, at production cost.
describe('a known account and an unknown name cost the same round trips', () => {
  it('on every failed attempt, on the one that sets the lock, and on each refusal during it', async () => {
    setNow(T0);
    const known = uniqueName('known');
    await registerUser(known);
    const unknown = uniqueName('nobody');

    const knownTrips: number[] = [];
    const unknownTrips: number[] = [];
    // Ten failures set the lock (API.md: 10 password failures); the 10th also logs `locked`.
    for (let i = 0; i < 10; i++) {
      const a = await loginRoundTrips(known, 'wrong password number one');
      const b = await loginRoundTrips(unknown, 'wrong password number one');
      expect([a.status, b.status]).toEqual([401, 401]);
      knownTrips.push(a.roundTrips);
      unknownTrips.push(b.roundTrips);
    }
    expect(knownTrips).toEqual(unknownTrips);

    const lockedKnown = await loginRoundTrips(known, 'wrong password number one');
    const lockedUnknown = await loginRoundTrips(unknown, 'wrong password number one');
    expect([lockedKnown.status, lockedUnknown.status]).toEqual([429, 429]);
    expect(lockedKnown.roundTrips).toBe(lockedUnknown.roundTrips);
  });
});
