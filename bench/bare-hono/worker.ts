/** The smallest Hono worker: the yardstick for the bundle size of src/index.ts. Never deployed. */
import { Hono } from 'hono';

export default new Hono().get('/health', (c) => c.json({ ok: true }));
