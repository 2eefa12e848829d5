import { sql } from 'drizzle-orm';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';
import { declareRoute, routeGroup } from '../openapi/declare';
import { okResponse } from '../openapi/responses';

const healthRoute = declareRoute({
  method: 'get',
  path: '/health',
  tag: 'service',
  summary: 'Liveness and storage check',
  description: 'Answers 200 only when D1 answers a query.',
  token: 'none',
  success: { status: 200, description: 'Storage answers.', schema: okResponse },
  errors: [],
});

export const health = routeGroup().openapi(healthRoute, async (c) => {
  await getDb(c.env.DB).run(sql`SELECT 1`);
  return c.json({ ok: true as const }, 200);
});
