import { SESSION_IDLE_SECONDS_BOUNDS } from './tunables';

/**
 * How long dead rows are kept, and how much one Cron run may delete. Each
 * value says why it has its value; BENCHMARKS.md ("Cleanup") has the timings.
 */

/**
 * A dead session (revoked, past its absolute end, or idle) is kept this long
 * before it is deleted. Nothing needs it for security: every lookup, refresh
 * and GET /sessions already refuses or hides a dead session, and refresh-token
 * reuse detection acts only on live sessions (a revoked one refuses every
 * token anyway). The week is for people: support answering "why was I logged
 * out", and session ids that security events and logs point at.
 */
export const SESSION_GRACE_SECONDS = 7 * 24 * 60 * 60;

/**
 * A session is idle-dead once `last_used_at` is older than the idle limit. The
 * largest allowed limit is used, so raising SESSION_IDLE_SECONDS later never
 * meets a session that was deleted while it would count as live again.
 */
export const SESSION_IDLE_MAX_SECONDS = SESSION_IDLE_SECONDS_BOUNDS.max;

/**
 * A throttle row whose lock ended and that saw no attempt for this long is
 * deleted; its counter starts again from zero. That forgets the doubling, so
 * the wait must cost the attacker more than the reset gives: a whole
 * escalation (30 s doubling to the 1 h cap, 8 rounds: 80 passwords or 40
 * codes in 3,810 s of locks) followed by a day of silence is 80 guesses per
 * 25 h, less than the 10 an hour (5 for codes) the capped lock allows to
 * someone who never stops. So pruning lets no one guess faster.
 */
export const THROTTLE_IDLE_SECONDS = 24 * 60 * 60;

/**
 * Rows at or past 100 consecutive failures are never pruned: NIST SP
 * 800-63B-4 §3.2.2 caps consecutive failures at 100, and a counter that high
 * may be the factor lock (API.md: codes refused until a recovery code or an
 * admin unlocks), which only a success or an admin may clear.
 */
export const THROTTLE_KEEP_FAILURES = 100;

/**
 * Rows per DELETE. Each chunk is one statement, so one short write: D1 is
 * single-threaded, and requests queue behind it. In the local pool a chunk of
 * 500 took about 17 ms on a 50 000-row table (BENCHMARKS.md "Cleanup"), far
 * inside D1's 30 s per query.
 */
export const CLEANUP_CHUNK_ROWS = 500;

/**
 * Chunks per step per run and shard: at most 30 000 rows per table (about
 * 1 s in the pool). A step stops early when a chunk comes back short. The
 * cleanup trigger is hourly (wrangler.toml), so one shard deletes up to 720 000
 * rows per table a day: the security log's two events per login journey keep
 * up with 360 000 journeys a day per shard, more than one database holds
 * (README, Capacity). The cleanup is idempotent, so any schedule is safe.
 */
export const CLEANUP_CHUNKS_PER_STEP = 60;

/**
 * D1 allows 1 000 queries per Worker invocation (Workers Paid), and one run
 * cleans every shard: the chunks are shared out so that every step of every
 * shard fits, with room left for the key rotation's few queries. From three
 * shards on, each gets fewer than CLEANUP_CHUNKS_PER_STEP per run; a
 * deployment that fills many shards runs the cleanup trigger more often.
 */
export const CLEANUP_QUERIES_PER_RUN = 900;

/** Chunks per step for each shard of a run over `shards` shards and `steps` steps. */
export function chunksPerStepFor(shards: number, steps: number): number {
  return Math.max(1, Math.min(CLEANUP_CHUNKS_PER_STEP, Math.floor(CLEANUP_QUERIES_PER_RUN / (shards * steps))));
}
