import { Placeholder } from 'drizzle-orm';
import type { Db } from './client';

/** drizzle(d1) keeps its D1 binding as `$client` (drizzle-orm/d1 driver); Db's declared type omits it. */
export function d1Of(db: Db): D1Database {
  return (db as Db & { $client: D1Database }).$client;
}

/** What drizzle builds: its SQL text and parameters, some of them `sql.placeholder(name)`. */
interface Buildable {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * A statement of a hot path that drizzle builds once per isolate (per drizzle
 * wrapper) instead of on every request: the query is written with drizzle as
 * anywhere else, with `sql.placeholder(name)` for each per-request value, and a
 * request only binds those values into D1's prepared statement. In a profile
 * of POST /refresh, drizzle's per-call SQL building was the largest share of
 * the isolate's own time. Rows come back as D1 gives them (column names).
 */
export function prebuilt<Name extends string>(build: (db: Db) => Buildable): (db: Db, values: Record<Name, string | number>) => D1PreparedStatement {
  const built = new WeakMap<Db, { statement: D1PreparedStatement; params: unknown[] }>();
  return (db, values) => {
    let entry = built.get(db);
    if (!entry) {
      const query = build(db).toSQL();
      entry = { statement: d1Of(db).prepare(query.sql), params: query.params };
      built.set(db, entry);
    }
    return entry.statement.bind(
      ...entry.params.map((param) => {
        if (!(param instanceof Placeholder)) return param;
        const value = values[param.name as Name];
        if (value === undefined) throw new Error(`prebuilt statement: no value for ${param.name}`);
        return value;
      }),
    );
  };
}
