import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import app from '../../src/index';
import { BASE } from '../helpers';

/** One D1 execution as the app issues it: a single statement or a whole batch. */
export interface Execution {
  index: number;
  kind: 'statement' | 'batch';
  sql: string[];
}

type Hook = (execution: Execution) => Promise<void> | void;

/**
 * Fault injection between the app's own D1 round trips: `hook` runs before
 * each execution, so a test can land a logout (or any other write) after the
 * middleware's read and before the flow's write, exactly where a concurrent
 * request would.
 */
export function interleavedDb(hook: Hook): D1Database {
  let index = 0;
  const next = async (kind: Execution['kind'], sql: string[]) => hook({ index: index++, kind, sql });
  const wrap = (real: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const statement = {
      real,
      sql,
      bind: (...values: unknown[]) => wrap(real.bind(...values), sql),
      first: async (column?: string) => (await next('statement', [sql]), column === undefined ? real.first() : real.first(column)),
      run: async () => (await next('statement', [sql]), real.run()),
      all: async () => (await next('statement', [sql]), real.all()),
      raw: async (options?: { columnNames?: boolean }) => (await next('statement', [sql]), real.raw(options as { columnNames: true })),
    };
    return statement as unknown as D1PreparedStatement;
  };
  const db = {
    prepare: (sql: string) => wrap(env.DB.prepare(sql), sql),
    batch: async (statements: D1PreparedStatement[]) => {
      const unwrapped = statements.map((s) => (s as unknown as { real: D1PreparedStatement }).real);
      await next('batch', statements.map((s) => (s as unknown as { sql: string }).sql));
      return env.DB.batch(unwrapped);
    },
    exec: (query: string) => env.DB.exec(query),
    dump: () => env.DB.dump(),
    withSession: () => {
      throw new Error('not used');
    },
  };
  return db as unknown as D1Database;
}

/** True for an execution that writes (a batch, or an INSERT/UPDATE/DELETE). */
export function isWrite(execution: Execution): boolean {
  return execution.kind === 'batch' || /^\s*(insert|update|delete)\b/i.test(execution.sql[0] ?? '');
}

/** A request through the app with `db` as its D1 binding. */
export async function fetchWith(db: D1Database, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`, init), { ...env, DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}
