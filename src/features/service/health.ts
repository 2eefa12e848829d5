import { sql } from 'drizzle-orm';
import { allShardDbs } from '../../db/shards';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { okResponse } from '../../http/openapi/responses';

const healthRoute = declareRoute({
  method: 'get',
  path: '/health',
  tag: 'service',
  summary: 'Liveness and storage check',
  description: 'Answers 200 only when every D1 shard answers a query.',
  token: 'none',
  success: { status: 200, description: 'Storage answers.', schema: okResponse },
  errors: [],
});

export const health = routeGroup().openapi(healthRoute, async (c) => {
  // Every shard: a user on a shard that does not answer cannot log in.
  await Promise.all(allShardDbs(c.env).map((db) => db.run(sql`SELECT 1`)));
  return c.json({ ok: true as const }, 200);
});
