/**
 * The bench's row meter (`npm run bench -- --only rows`): the production app,
 * its D1 binding wrapped by bench/rows/d1-meter.ts. Each response carries the
 * request's D1 totals in `X-Bench-D1`; `GET /__rows/last` returns the last
 * request's statements with their meta. Bench only: the app never sets either.
 */
import worker from '../../src/index';
import { meterD1, type MeteredD1 } from './d1-meter';

// One meter per binding for the isolate's life, so the app's per-binding
// caches (drizzle, signing keys) live as long as they do in production.
const meters = new WeakMap<D1Database, MeteredD1>();
let last: MeteredD1['log'] = [];

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (new URL(request.url).pathname === '/__rows/last') return Response.json(last);
    let meter = meters.get(env.DB);
    if (!meter) {
      meter = meterD1(env.DB);
      meters.set(env.DB, meter);
    }
    // The bench sends one request at a time, so one running total is exact.
    meter.reset();
    const response = await worker.fetch(request, { ...env, DB: meter.db }, ctx);
    last = meter.log;
    const headers = new Headers(response.headers);
    headers.set('X-Bench-D1', JSON.stringify(meter.totals));
    return new Response(response.body, { status: response.status, headers });
  },
} satisfies ExportedHandler<Env>;
