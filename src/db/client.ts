import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';

/**
 * The app builds its queries with drizzle's SQL builder (and prebuilt
 * statements, db/prebuilt.ts); it never uses the relational `db.query` API,
 * so the wrapper is made without a schema map.
 */
export type Db = DrizzleD1Database;

// One drizzle wrapper per D1 binding for the isolate's life: it holds no
// connection state, so building it per request would only be wasted work.
const cache = new WeakMap<D1Database, Db>();

export function getDb(d1: D1Database): Db {
  let db = cache.get(d1);
  if (!db) {
    db = drizzle(d1);
    cache.set(d1, db);
  }
  return db;
}
