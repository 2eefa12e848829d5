import { ApiError } from '../core/errors';

/**
 * At most one scrypt derivation in flight per isolate, and a bounded wait for it.
 *
 * Where the runtime's clock advances during execution (local workerd, so
 * `wrangler dev`), noble's scryptAsync hands the event loop back between
 * slices, and hashes started together interleave: fifty concurrent logins all
 * finish last, together, each holding its 16 MiB of a 128 MB isolate. In
 * production the clock stands still during execution, so a hash never yields
 * and runs to completion anyway; the gate (and its bound) changes nothing there.
 *
 * Waiters poll in their own request context rather than being woken by the
 * request that frees the slot: a woken request that was cancelled meanwhile
 * would never release it. A slot held longer than any hash can take (its
 * request was cancelled mid-hash) is reclaimed, and so is a waiter that stopped
 * polling.
 *
 * The wait is bounded. Unbounded, the queue grew with the offered load: with 50
 * simulated users against `wrangler dev`, /login waited up to 57 s at p99 and
 * /register 74 s, long after any client had given up. Now a request whose
 * expected wait (the hashes ahead of it times the measured time of one) is over
 * MAX_WAIT_MS is refused at once with `503 unavailable` and a Retry-After, as an
 * overloaded D1 is, and one admitted that still waits past the bound gives up.
 */
const MAX_IN_FLIGHT = 1;
const POLL_MS = 5;
/** A hash takes about 190 ms of CPU; ten seconds is far past any live one. */
const STALE_MS = 10_000;
/** A live waiter polls every POLL_MS; one silent this long was cancelled. */
const STALE_WAITER_MS = 1_000;
/**
 * The bound on waiting for the slot. Measured: one derivation at today's cost
 * (N 2^14, r 8, p 5) takes 190 to 250 ms in `wrangler dev` on this machine, so one
 * isolate completes 4 to 5 a second. Two seconds is a queue of about eight to ten
 * hashes: a login that waits at all waits about as long as a person tolerates a
 * button press taking, while a burst beyond that gets a fast 503 whose
 * Retry-After sends it back when the queue has drained. Longer bounds only
 * stretch p99 without serving more (the isolate's throughput is fixed by the
 * hash); shorter ones refuse bursts a person would not notice.
 */
export const MAX_WAIT_MS = 2_000;

const inFlight = new Set<{ startedAt: number }>();
const waiters = new Set<{ polledAt: number }>();
/**
 * Moving average of how long the work took in this isolate, in ms; 0 until one
 * was measured. Unmeasured, nobody is refused at the door (the deadline still
 * bounds the wait): where the clock stands still during execution (production,
 * tests on a fixed clock) a hash measures 0, and there no queue forms anyway.
 */
let hashMs = 0;

function prune(now: number): void {
  for (const slot of inFlight) if (now - slot.startedAt > STALE_MS) inFlight.delete(slot);
  for (const waiter of waiters) if (now - waiter.polledAt > STALE_WAITER_MS) waiters.delete(waiter);
}

/** How long a request arriving now would wait for the slot, estimated from the measured hash time. */
function expectedWaitMs(): number {
  if (inFlight.size < MAX_IN_FLIGHT && waiters.size === 0) return 0;
  return (inFlight.size + waiters.size) * hashMs;
}

function unavailable(waitMs: number): ApiError {
  return new ApiError('unavailable', { message: 'Too many sign-ins at once here; try again shortly.', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
}

/**
 * The admission check alone, for a route that should refuse before it spends
 * anything on a request it cannot serve (login: before the attempt is taken from
 * the password budget). Throws the same 503 as withHashSlot would.
 */
export function refuseIfHashQueueFull(): void {
  prune(Date.now());
  const wait = expectedWaitMs();
  if (wait > MAX_WAIT_MS) throw unavailable(wait);
}

export async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  refuseIfHashQueueFull();
  const enteredAt = Date.now();
  const waiter = { polledAt: enteredAt };
  waiters.add(waiter);
  try {
    for (;;) {
      const now = Date.now();
      waiter.polledAt = now;
      prune(now);
      if (inFlight.size < MAX_IN_FLIGHT) break;
      // Admitted on an estimate that turned out wrong (hashes slower than measured).
      if (now - enteredAt > MAX_WAIT_MS) throw unavailable(expectedWaitMs());
      await scheduler.wait(POLL_MS);
    }
  } finally {
    waiters.delete(waiter);
  }
  const slot = { startedAt: Date.now() };
  inFlight.add(slot);
  try {
    return await work();
  } finally {
    inFlight.delete(slot);
    const took = Date.now() - slot.startedAt;
    if (took > 0) hashMs = hashMs === 0 ? took : hashMs * 0.8 + took * 0.2;
  }
}
