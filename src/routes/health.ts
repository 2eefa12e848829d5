import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';

export const health = new Hono<AppEnv>().get('/health', async (c) => {
  await getDb(c.env.DB).run(sql`SELECT 1`);
  return c.json({ ok: true as const }, 200);
});
