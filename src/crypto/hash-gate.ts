import { ApiError } from '../core/errors';

/**
 * At most one scrypt derivation in flight per isolate, and a bounded wait for it.
 *
 * Where the runtime's clock advances during execution (local workerd, so
 * `wrangler dev`), noble's scryptAsync hands the event loop back between
 * slices, and hashes started together interleave: fifty concurrent logins all
 * finish last, together, each holding its 16 MiB of a 128 MB isolate. In
 * production the clock stands still during execution, so a hash never yields
 * and runs to completion anyway; there the gate only makes a password attempt's
 * budget reservation (one D1 statement, awaited inside the slot: see
 * core/passwords/password-check.ts) and its hash one turn, so requests of one
 * isolate take turns at that, and its measured time is the D1 round trip's.
 *
 * Waiters poll in their own request context rather than being woken by the
 * request that frees the slot: a woken request that was cancelled meanwhile
 * would never release it. A slot held longer than any hash can take (its
 * request was cancelled mid-hash) is reclaimed, and so is a waiter that stopped
 * polling.
 *
 * The time in the gate is bounded. Unbounded, the queue grew with the offered
 * load: with 50 simulated users against `wrangler dev`, /login waited up to 57 s
 * at p99 and /register 74 s, long after any client had given up. Now a request
 * whose expected time here (the hashes ahead of it and its own, times the
 * measured time of one) is over MAX_WAIT_MS is refused at once with
 * `503 unavailable` and a Retry-After, as an overloaded D1 is; one admitted that
 * could no longer finish within the bound gives up the same way. Waiters are
 * served first come, first served, so an admitted request is not overtaken by
 * later ones (the estimate it was admitted on holds). A route that spends a
 * password attempt does so inside its slot (core/passwords/password-check.ts),
 * so the 503 never comes after the attempt was counted.
 */
const MAX_IN_FLIGHT = 1;
const POLL_MS = 5;
/** A hash takes about 190 ms of CPU; ten seconds is far past any live one. */
const STALE_MS = 10_000;
/** A live waiter polls every POLL_MS; one silent this long was cancelled. */
const STALE_WAITER_MS = 1_000;
/**
 * The bound on a request's time in the gate (waiting, then its own hash).
 * Measured: one derivation at today's cost (N 2^14, r 8, p 5) takes about 250 ms
 * in `wrangler dev` on an idle core of this machine, and 0.7 to 1 s when the
 * machine is busy, so one isolate completes one to four a second. Two seconds is
 * about as long as a person tolerates a sign-in button taking; beyond it a fast
 * 503 whose Retry-After sends the client back when the queue has drained serves
 * them better than waiting on (the isolate's throughput is fixed by the hash, so
 * a longer bound only stretches p99 without serving more), and a shorter one
 * would refuse bursts a person would not notice.
 */
export const MAX_WAIT_MS = 2_000;
/**
 * A request with fewer than this many hashes ahead of it is always served, and
 * waits its turn: a few sign-ins at once (two tabs, a family behind one router)
 * are ordinary traffic, not a flood, even on a machine so busy that a hash takes
 * a second. The bound is for the queue beyond them, so a request's time here is
 * at most the larger of MAX_WAIT_MS and (ALWAYS_SERVED_AHEAD + 1) hashes: 2 s
 * with today's 250 ms hash, 4 s where a hash takes a second.
 */
const ALWAYS_SERVED_AHEAD = 3;

const inFlight = new Set<{ startedAt: number }>();
/** First come, first served: only the head may take a free slot. */
const waiters: { polledAt: number }[] = [];
/**
 * Moving average of how long the work took in this isolate, in ms; 0 until one
 * was measured. Unmeasured, nobody is refused at the door (the deadline still
 * bounds the wait): where the clock stands still during execution (production,
 * tests on a fixed clock) a hash measures 0 (a turn with a D1 statement in it, that
 * statement's round trip), and there hardly any queue forms.
 */
let hashMs = 0;

function prune(now: number): void {
  for (const slot of inFlight) if (now - slot.startedAt > STALE_MS) inFlight.delete(slot);
  for (let i = waiters.length - 1; i >= 0; i--) if (now - waiters[i]!.polledAt > STALE_WAITER_MS) waiters.splice(i, 1);
}

function leave(waiter: { polledAt: number }): void {
  const at = waiters.indexOf(waiter);
  if (at >= 0) waiters.splice(at, 1);
}

/** How long a request arriving now would spend here (the hashes ahead and its own), from the measured hash time. */
function expectedMs(): number {
  return (inFlight.size + waiters.length + 1) * hashMs;
}

function unavailable(waitMs: number): ApiError {
  return new ApiError('unavailable', { message: 'Too many sign-ins at once here; try again shortly.', retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
}

/** Admits a request or throws the 503; returns how long it may stay. */
function admit(): number {
  prune(Date.now());
  if (inFlight.size + waiters.length < ALWAYS_SERVED_AHEAD) return Infinity;
  const expected = expectedMs();
  if (expected > MAX_WAIT_MS) throw unavailable(expected);
  return MAX_WAIT_MS;
}

export async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  const mayStayMs = admit();
  const enteredAt = Date.now();
  const waiter = { polledAt: enteredAt };
  waiters.push(waiter);
  try {
    for (;;) {
      const now = Date.now();
      waiter.polledAt = now;
      // Taken for cancelled while it could not poll (the clock jumped): it is alive, and was ahead of newer ones.
      if (!waiters.includes(waiter)) waiters.unshift(waiter);
      prune(now);
      if (inFlight.size < MAX_IN_FLIGHT && waiters[0] === waiter) break;
      // Admitted on an estimate that turned out wrong (hashes slower than measured).
      if (now - enteredAt + hashMs > mayStayMs) throw unavailable(expectedMs());
      await scheduler.wait(POLL_MS);
    }
  } finally {
    leave(waiter);
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
