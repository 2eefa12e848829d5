import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { meterD1 } from '../../bench/rows/d1-meter';
import { CLEANUP_CHUNK_ROWS, CLEANUP_CHUNKS_PER_STEP } from '../../src/settings/retention';
import { runCleanup } from '../../src/scheduled/run';
import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../../src/db/schema';

const T = 1_800_000_000;
const DAY = 86_400;

/**
 * The measurement behind BENCHMARKS.md "Cleanup": 50 000 sessions, 40 000 of
 * them dead past the grace, the way a table looks after a day's backlog (the
 * dead are the oldest rows). One run with the shipped limits; rows read and
 * written are D1's own meta, the time is the pool's wall clock per chunk.
 */
describe('cleanup at scale (50 000 sessions)', () => {
  it('deletes in bounded chunks, each a short statement, and never a live row', async () => {
    await env.DB.prepare("INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES ('u1', 'u1', 'u1', 'x', 0)").run();
    const seed = (from: number, to: number, expiresAt: number) =>
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, last_used_at) SELECT printf('s%06d', i), 'u1', 1, ?, ?, ? FROM n`,
      ).bind(from, to, expiresAt - DAY, expiresAt, T - 10).run();
    await seed(1, 40_000, T - 8 * DAY);
    await seed(40_001, 50_000, T + DAY);
    const meter = meterD1(env.DB);
    const db = drizzle(meter.db);
    const runs = [];
    for (let run = 0; run < 3; run++) {
      meter.reset();
      const { reports, errors } = await runCleanup(db, T);
      expect(errors).toEqual([]);
      const sessionChunks = meter.log.filter((entry) => entry.sql.includes('DELETE FROM "sessions"'));
      runs.push({ rows: reports[0]!.rows, chunks: reports[0]!.chunks, ms: reports[0]!.elapsedMs, msPerChunk: +(reports[0]!.elapsedMs / reports[0]!.chunks).toFixed(1), rowsReadPerChunk: [...new Set(sessionChunks.map((c) => c.rowsRead))], rowsWritten: sessionChunks.reduce((sum, c) => sum + c.rowsWritten, 0) });
    }
    console.log(JSON.stringify({ chunkRows: CLEANUP_CHUNK_ROWS, chunksPerStep: CLEANUP_CHUNKS_PER_STEP, runs }));
    expect(runs.reduce((sum, run) => sum + run.rows, 0)).toBe(40_000);
    const { results } = await env.DB.prepare('SELECT count(*) AS n, min(id) AS first FROM sessions').all<{ n: number; first: string }>();
    expect(results[0]).toEqual({ n: 10_000, first: 's040001' });
  });
});
