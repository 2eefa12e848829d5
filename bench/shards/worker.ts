/**
 * The shard bench's Worker (`npm run bench -- --only shards`): the production
 * app, every D1 binding in env (DB, DB_SHARD_1..DB_SHARD_15) replaced by a
 * bench/shards/serial-d1.ts wrapper that serves that shard's statements one at
 * a time with D1's service time, before the app sees env. Bench only: the app
 * never binds or serves any of this.
 *
 * GET  /__shards/stats         {isolate, model, shards: {binding: ShardStats}}
 * POST /__shards/model         {serviceMs, queueBound}, and resets the stats
 * GET  /__shards/users         the usernames stored in each bound database (read directly)
 * Every response carries X-Bench-Isolate: this isolate's id, fixed at load.
 */
import worker from '../../src/index';
import { serialD1, ShardQueue, type QueueModel } from './serial-d1';

const BINDING = /^DB(?:_SHARD_(?:[1-9]|1[0-5]))?$/;
// Random values are refused at global scope, so the id is drawn by the first request.
let isolateId: string | undefined;
const isolate = (): string => (isolateId ??= crypto.randomUUID());
let model: QueueModel = { serviceMs: 0, queueBound: 1_000_000 };
// Module state, so one queue per shard for the isolate's life (see serial-d1.ts).
const queues = new Map<string, ShardQueue>();
const wrapped = new Map<string, { real: D1Database; db: D1Database }>();

// The app caches its settings per env object ("stable for an isolate's life"), so
// the wrapped env is made once per real env, not per request.
const wrappedEnvs = new WeakMap<Env, Env>();

function wrapEnv(env: Env): Env {
  const cached = wrappedEnvs.get(env);
  if (cached) return cached;
  const out: Record<string, unknown> = { ...env };
  for (const [name, value] of Object.entries(env as unknown as Record<string, unknown>)) {
    if (!BINDING.test(name)) continue;
    const real = value as D1Database;
    let entry = wrapped.get(name);
    if (!entry || entry.real !== real) {
      let queue = queues.get(name);
      if (!queue) {
        queue = new ShardQueue(name, () => model);
        queues.set(name, queue);
      }
      // Same wrapper object for the same binding, so the app's per-binding caches live on.
      entry = { real, db: serialD1(real, queue) };
      wrapped.set(name, entry);
    }
    out[name] = entry.db;
  }
  wrappedEnvs.set(env, out as unknown as Env);
  return out as unknown as Env;
}

function bindings(env: Env): [string, D1Database][] {
  return Object.entries(env as unknown as Record<string, unknown>)
    .filter(([name]) => BINDING.test(name))
    .map(([name, value]) => [name, value as D1Database]);
}

async function control(request: Request, env: Env, path: string): Promise<Response> {
  if (path === '/__shards/stats') {
    const shards = Object.fromEntries([...queues].map(([name, queue]) => [name, queue.snapshot()]));
    return Response.json({ isolate: isolate(), model, shards });
  }
  if (path === '/__shards/model' && request.method === 'POST') {
    const next = (await request.json()) as QueueModel;
    if (!(next.serviceMs >= 0) || !(next.queueBound >= 1)) return Response.json({ error: 'bad model' }, { status: 400 });
    model = { serviceMs: next.serviceMs, queueBound: next.queueBound };
    for (const queue of queues.values()) queue.resetStats();
    return Response.json({ isolate: isolate(), model });
  }
  if (path === '/__shards/users') {
    const usernames: Record<string, string[]> = {};
    for (const [name, db] of bindings(env)) usernames[name] = (await db.prepare('SELECT username FROM users').raw<[string]>()).map(([u]) => u);
    return Response.json({ isolate: isolate(), usernames });
  }
  return new Response('not found', { status: 404 });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    const response = path.startsWith('/__shards/') ? await control(request, env, path) : await worker.fetch(request, wrapEnv(env), ctx);
    const headers = new Headers(response.headers);
    headers.set('X-Bench-Isolate', isolate());
    return new Response(response.body, { status: response.status, headers });
  },
} satisfies ExportedHandler<Env>;
