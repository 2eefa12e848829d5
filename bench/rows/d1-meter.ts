/**
 * Bench and test only, never bound in the app: a D1Database that forwards
 * every statement to the real one and sums D1's own `meta.rows_read` and
 * `meta.rows_written` (and counts statements) into `totals`.
 *
 * D1's `raw()` returns no meta, and drizzle reads every SELECT (and every
 * RETURNING) through it, so `raw()` is served here by `all()` and turned back
 * into arrays. A SELECT is wrapped as `SELECT * FROM (...)` first: SQLite then
 * names duplicate columns of a JOIN uniquely (`id`, `id:1`), in order, so no
 * column is lost. SQLite flattens that wrapper, so the rows read are the same.
 */
export interface D1Totals {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

export interface MeteredD1 {
  db: D1Database;
  totals: D1Totals;
  /** Every statement's SQL and meta, for a breakdown. */
  log: { sql: string; rowsRead: number; rowsWritten: number }[];
  reset(): void;
}

type Meta = { rows_read?: number; rows_written?: number };

export function meterD1(real: D1Database): MeteredD1 {
  const metered: MeteredD1 = {
    db: undefined as unknown as D1Database,
    totals: { statements: 0, rowsRead: 0, rowsWritten: 0 },
    log: [],
    reset() {
      metered.totals = { statements: 0, rowsRead: 0, rowsWritten: 0 };
      metered.log = [];
    },
  };
  const record = (sql: string, meta: Meta | undefined) => {
    const rowsRead = meta?.rows_read ?? 0;
    const rowsWritten = meta?.rows_written ?? 0;
    metered.totals.statements += 1;
    metered.totals.rowsRead += rowsRead;
    metered.totals.rowsWritten += rowsWritten;
    metered.log.push({ sql, rowsRead, rowsWritten });
  };
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();
  const wrap = (sql: string, params: unknown[]): D1PreparedStatement => {
    const inner = params.length > 0 ? real.prepare(sql).bind(...params) : real.prepare(sql);
    const statement = {
      bind: (...values: unknown[]) => wrap(sql, values),
      async run() {
        const result = await inner.run();
        record(sql, result.meta);
        return result;
      },
      async all() {
        const result = await inner.all();
        record(sql, result.meta);
        return result;
      },
      async first(column?: string) {
        const result = await inner.all<Record<string, unknown>>();
        record(sql, result.meta);
        const [row] = result.results;
        if (!row) return null;
        return column === undefined ? row : row[column];
      },
      async raw(options?: { columnNames?: boolean }) {
        const isSelect = /^\s*select\b/i.test(sql);
        const query = isSelect ? real.prepare(`SELECT * FROM (${sql})`) : real.prepare(sql);
        const result = await (params.length > 0 ? query.bind(...params) : query).all<Record<string, unknown>>();
        record(sql, result.meta);
        const rows = result.results.map((row) => Object.values(row));
        if (options?.columnNames) return [Object.keys(result.results[0] ?? {}), ...rows];
        return rows;
      },
    } as unknown as D1PreparedStatement;
    unwrap.set(statement, inner);
    sqlOf.set(statement, sql);
    return statement;
  };
  metered.db = {
    prepare: (sql: string) => wrap(sql, []),
    async batch(statements: D1PreparedStatement[]) {
      const results = await real.batch(statements.map((s) => unwrap.get(s) ?? s));
      results.forEach((result, i) => record(`batch: ${sqlOf.get(statements[i]!) ?? '?'}`, result.meta));
      return results;
    },
    exec: (sql: string) => real.exec(sql),
    dump: () => (real as unknown as { dump(): Promise<ArrayBuffer> }).dump(),
    withSession: (constraint?: string) => real.withSession(constraint),
  } as unknown as D1Database;
  return metered;
}
