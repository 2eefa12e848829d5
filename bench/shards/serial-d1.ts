/**
 * Bench only, never bound in the app: a D1Database that makes one local D1
 * behave like one D1 database in production under load.
 *
 * Cloudflare documents a D1 database as single-threaded: it processes one
 * query at a time, so at 1 ms a query it serves about 1,000 queries a second,
 * and further queries wait in a queue; past the queue's bound a query fails
 * with "D1 DB is overloaded. Too many requests queued." (D1 docs, "Limits" and
 * "Error list"). A batch is one request that costs the sum of its statements.
 *
 * Model (a single-server FIFO queue with a fixed service time per statement):
 * a request arriving at t starts at max(t, freeAt), the time this shard's
 * previous request finishes, and finishes `serviceMs * statements` later;
 * freeAt moves to that finish. The answer is released at the finish, never
 * earlier. The statement itself runs on the local D1 as it arrives: local D1
 * is serial per database too, so the real order of execution is the queue's
 * order, and what it returns is what it would return at its turn. A timer
 * that fires late delays that one answer, never the shard's schedule, so a
 * shard serves exactly 1000 / serviceMs statements a second when saturated.
 *
 * Requests waiting or in service count against `queueBound`; one more is
 * refused at once with D1's own message, which the app must answer with 503.
 *
 * All of this is in-memory state of one isolate: the queues are global per
 * shard only because `wrangler dev` serves the Worker from a single isolate
 * (bench/shards/worker.ts stamps each response with the isolate's id and the
 * driver checks that every response carries the same one).
 */

export interface QueueModel {
  /** Milliseconds one statement holds the shard (D1: about 1 ms at 1,000 queries/s). */
  serviceMs: number;
  /** Requests (a statement or a batch) waiting or in service; one more is refused. */
  queueBound: number;
}

export interface ShardStats {
  requests: number;
  statements: number;
  overloads: number;
  /** Simulated milliseconds the shard spent serving (utilisation = busyMs / wall ms). */
  busyMs: number;
  maxQueued: number;
}

/** D1's message for a full queue (D1 docs, "Error list"); src/db/transient.ts matches it. */
export const OVERLOADED_MESSAGE = 'D1 DB is overloaded. Too many requests queued.';

export class ShardQueue {
  private freeAt = 0;
  private queued = 0;
  stats: ShardStats = { requests: 0, statements: 0, overloads: 0, busyMs: 0, maxQueued: 0 };

  constructor(
    readonly name: string,
    private readonly model: () => QueueModel,
  ) {}

  /** The stats, with the service already scheduled past `now` taken out of busyMs. */
  snapshot(): ShardStats {
    const ahead = Math.max(0, this.freeAt - performance.now());
    return { ...this.stats, busyMs: Math.max(0, this.stats.busyMs - ahead) };
  }

  resetStats(): void {
    // Service already scheduled counts in the next window, not the last one.
    const ahead = Math.max(0, this.freeAt - performance.now());
    this.stats = { requests: 0, statements: 0, overloads: 0, busyMs: ahead, maxQueued: 0 };
  }

  async serve<T>(statements: number, run: () => Promise<T>): Promise<T> {
    const { serviceMs, queueBound } = this.model();
    if (this.queued >= queueBound) {
      this.stats.overloads += 1;
      // As D1 reports it: a D1_ERROR whose message names the overload.
      throw new Error(`D1_ERROR: ${OVERLOADED_MESSAGE}`);
    }
    const arrival = performance.now();
    const start = Math.max(arrival, this.freeAt);
    const finish = start + serviceMs * statements;
    this.freeAt = finish;
    this.queued += 1;
    this.stats.requests += 1;
    this.stats.statements += statements;
    this.stats.busyMs += finish - start;
    this.stats.maxQueued = Math.max(this.stats.maxQueued, this.queued);
    try {
      // Settled either way: a failed statement has still held the shard.
      const outcome = await run().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const wait = finish - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    } finally {
      this.queued -= 1;
    }
  }
}

/** `real`, with every statement and batch served through `queue`. */
export function serialD1(real: D1Database, queue: ShardQueue): D1Database {
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const wrap = (inner: D1PreparedStatement): D1PreparedStatement => {
    const statement = {
      bind: (...values: unknown[]) => wrap(inner.bind(...values)),
      run: () => queue.serve(1, () => inner.run()),
      all: () => queue.serve(1, () => inner.all()),
      first: (column?: string) => queue.serve(1, () => (column === undefined ? inner.first() : inner.first(column))),
      raw: (options?: { columnNames?: boolean }) =>
        queue.serve(1, () => (options?.columnNames ? inner.raw({ columnNames: true }) : inner.raw())),
    } as unknown as D1PreparedStatement;
    unwrap.set(statement, inner);
    return statement;
  };
  return {
    prepare: (sql: string) => wrap(real.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) =>
      queue.serve(statements.length, () => real.batch(statements.map((s) => unwrap.get(s) ?? s))),
    exec: (sql: string) => queue.serve(1, () => real.exec(sql)),
    dump: () => (real as unknown as { dump(): Promise<ArrayBuffer> }).dump(),
    withSession: () => {
      throw new Error('bench/shards/serial-d1.ts: withSession is not modelled');
    },
  } as unknown as D1Database;
}
