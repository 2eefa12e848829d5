import { getTableColumns, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';

/** The row by field name (drizzle's insert type): a value, or a bound or computed SQL expression. A column left out is its declared (constant) default, else NULL. */
export type GuardedRow<T extends SQLiteTable> = { [K in keyof T['$inferInsert']]: T['$inferInsert'][K] | SQL };

/**
 * `INSERT INTO t SELECT <row> WHERE <guard>`: the row is inserted only if
 * `guard` holds when the statement runs. D1 has no interactive transactions,
 * so placed first in a db.batch() (one transaction) this turns a check and
 * its write into one atomic step, and later statements of the batch can test
 * whether it landed. drizzle's column list gives the table order, so the
 * values can never shift against the columns.
 */
export function insertIf<T extends SQLiteTable>(db: Db, table: T, row: GuardedRow<T>, guard: SQL) {
  const values = Object.entries(getTableColumns(table)).map(([key, column]) => {
    // A column left out takes its declared default (as a plain INSERT would), else NULL.
    const value = (row as Record<string, unknown>)[key] ?? (column.default as unknown);
    return typeof value === 'boolean' ? (value ? 1 : 0) : (value ?? null);
  });
  return db.insert(table).select(sql`SELECT ${sql.join(values.map((value) => sql`${value}`), sql`, `)} WHERE ${guard}`);
}

/** A table's field names in column order: the placeholders of a prebuilt statement (db/prebuilt.ts) that inserts a whole row. */
export function columnKeys<T extends SQLiteTable>(table: T): (keyof T['$inferInsert'] & string)[] {
  return Object.keys(getTableColumns(table)) as (keyof T['$inferInsert'] & string)[];
}

/** Every column of `table` bound to the placeholder of its field name: a prebuilt statement's row for insertIf. */
export function placeholderRow<T extends SQLiteTable>(table: T, p: Record<string, Placeholder>): GuardedRow<T> {
  return Object.fromEntries(columnKeys(table).map((key) => [key, sql`${p[key]}`])) as GuardedRow<T>;
}
