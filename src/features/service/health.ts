import { sql } from 'drizzle-orm';
import { allShardDbs } from '../../db/shards';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { okResponse } from '../../http/openapi/responses';

const healthRoute = declareRoute({
  method: 'get',
  path: '/health',
  tag: 'service',
  summary: 'Liveness and storage check',
  description: 'Answers 200 only when every D1 shard answered a query within the last 5 s (each isolate checks at most once every 5 s).',
  token: 'none',
  success: { status: 200, description: 'Storage answers.', schema: okResponse },
  errors: [],
});

/**
 * A success is kept for HEALTH_ISOLATE_CACHE_MS per isolate. /health is public,
 * outside the flood filter, and reads every shard, the primary among them: in a
 * loop it spent every shard's budget. Now one isolate reads them at most once per
 * five seconds; a shard that stops answering shows within five seconds. A failure
 * is never kept: the next request checks again.
 */
export const HEALTH_ISOLATE_CACHE_MS = 5_000;
const healthyAt = new WeakMap<Env, number>();

export const health = routeGroup().openapi(healthRoute, async (c) => {
  const now = Date.now();
  const last = healthyAt.get(c.env);
  if (last === undefined || Math.abs(now - last) >= HEALTH_ISOLATE_CACHE_MS) {
    // Every shard: a user on a shard that does not answer cannot log in.
    await Promise.all(allShardDbs(c.env).map((db) => db.run(sql`SELECT 1`)));
    healthyAt.set(c.env, now);
  }
  return c.json({ ok: true as const }, 200);
});
