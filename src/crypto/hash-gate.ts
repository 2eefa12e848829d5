/**
 * At most one scrypt derivation in flight per isolate.
 *
 * Where the runtime's clock advances during execution (local workerd, so
 * `wrangler dev`), noble's scryptAsync hands the event loop back between
 * slices, and hashes started together interleave: fifty concurrent logins all
 * finish last, together, each holding its 16 MiB of a 128 MB isolate. In
 * production the clock stands still during execution, so a hash never yields
 * and runs to completion anyway; the gate changes nothing there.
 *
 * Waiters poll in their own request context rather than being woken by the
 * request that frees the slot: a woken request that was cancelled meanwhile
 * would never release it. A slot held longer than any hash can take (its
 * request was cancelled mid-hash) is reclaimed.
 */
const MAX_IN_FLIGHT = 1;
const POLL_MS = 5;
/** A hash takes about 190 ms of CPU; ten seconds is far past any live one. */
const STALE_MS = 10_000;

const inFlight = new Set<{ startedAt: number }>();

export async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    const now = Date.now();
    for (const slot of inFlight) if (now - slot.startedAt > STALE_MS) inFlight.delete(slot);
    if (inFlight.size < MAX_IN_FLIGHT) break;
    await scheduler.wait(POLL_MS);
  }
  const slot = { startedAt: Date.now() };
  inFlight.add(slot);
  try {
    return await work();
  } finally {
    inFlight.delete(slot);
  }
}
