import { fillPlaceholders, getTableColumns, sql, type Placeholder, type SQL, type Table } from 'drizzle-orm';
import type { Db } from './client';

/** drizzle(d1) keeps its D1 binding as `$client` (drizzle-orm/d1 driver); Db's declared type omits it. */
export function d1Of(db: Db): D1Database {
  return (db as Db & { $client: D1Database }).$client;
}

/**
 * A value a statement builder takes: the request's own, or (in a prebuilt
 * statement) the `sql.placeholder` it is bound to later.
 */
export type Bound<T> = T | Placeholder;

/** Each field of a builder's values bound (`Bound`): the request's values, or a prebuilt statement's placeholders. */
export type BoundFields<T> = { [K in keyof T]: Bound<T[K]> };

/** What drizzle's `.prepare()` returns, as far as its public type goes: the query with its placeholders, and the result type. */
interface PreparedQuery<Result> {
  execute(values?: Record<string, unknown>): Promise<Result>;
  getQuery(): { sql: string; params: unknown[] };
}
/** The parts of drizzle-orm/d1's D1PreparedQuery that its own `db.batch()` uses; marked internal there. */
interface D1Internals {
  stmt: D1PreparedStatement;
  mapResult(result: unknown, isFromBatch: boolean): unknown;
}

/** A prebuilt statement bound for one request: what D1 runs and how its result maps back. */
export interface PrebuiltItem<Result> {
  statement: D1PreparedStatement;
  map(result: D1Result): Result;
}

/**
 * A statement of a hot path that drizzle builds once per isolate (per drizzle
 * wrapper) instead of on every request: the query is written with drizzle as
 * anywhere else, with a placeholder (`p.name`, for each of `names`) for each
 * per-request value, and a request only binds those values into D1's prepared
 * statement. Its result is drizzle's, mapped as `db.batch()` maps it. In
 * profiles of POST /refresh and POST /webauthn/login/verify, drizzle's
 * per-call SQL building was the largest share of the isolate's own time.
 */
export function prebuilt<const Name extends string, Result>(
  names: readonly Name[],
  build: (db: Db, p: Record<Name, Placeholder>) => { prepare(): PreparedQuery<Result> },
): (db: Db, values: Record<Name, string | number | null>) => PrebuiltItem<Result> {
  const p = Object.fromEntries(names.map((name) => [name, sql.placeholder(name)])) as Record<string, Placeholder> as Record<Name, Placeholder>;
  const built = new WeakMap<Db, PreparedQuery<Result> & D1Internals>();
  return (db, values) => {
    let query = built.get(db);
    if (!query) {
      query = build(db, p).prepare() as PreparedQuery<Result> & D1Internals;
      built.set(db, query);
    }
    // drizzle checks only that a name is present: an undefined value would reach D1's bind.
    for (const name of names) if (values[name] === undefined) throw new Error(`prebuilt statement: no value for ${name}`);
    return {
      statement: query.stmt.bind(...fillPlaceholders(query.getQuery().params, values)),
      map: (result) => query.mapResult(result, true) as Result,
    };
  };
}

type Results<Items extends readonly PrebuiltItem<unknown>[]> = { [K in keyof Items]: Items[K] extends PrebuiltItem<infer Result> ? Result : never };

/** Runs prebuilt statements as one D1 batch (one round trip, one transaction), as `db.batch()` does. */
export async function batchPrebuilt<const Items extends readonly PrebuiltItem<unknown>[]>(db: Db, items: Items): Promise<Results<Items>> {
  const results = await d1Of(db).batch(items.map((item) => item.statement));
  return results.map((result, i) => items[i]!.map(result)) as Results<Items>;
}

/**
 * A table's columns selected under prefixed names (`s_id`), each decoded as its
 * column: two tables' rows in one JOIN that a batch can carry, where D1 names
 * a row's values by column and duplicate names would collide.
 */
export function prefixedColumns<T extends Table>(table: T, prefix: string): PrefixedColumns<T> {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => [key, sql`${column}`.mapWith(column).as(`${prefix}${column.name}`)]);
  return Object.fromEntries(columns) as PrefixedColumns<T>;
}
type PrefixedColumns<T extends Table> = { [K in keyof T['$inferSelect']]: SQL.Aliased<T['$inferSelect'][K]> };
