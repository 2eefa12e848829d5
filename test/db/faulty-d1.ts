/**
 * A D1Database that fails like D1 does under overload: statements whose SQL
 * matches `on` throw `message` (as D1 does, `D1_ERROR: ...`) for the first
 * `times` executions, then pass. `when: 'before'` fails without executing;
 * `'after'` executes (commits) and then throws, as when the answer is lost on
 * the way back. A batch fails as a whole if any of its statements matches.
 */
export interface Fault {
  on: RegExp;
  message: string;
  times?: number;
  when?: 'before' | 'after';
}

export function faultyD1(real: D1Database, fault: Fault): { db: D1Database; thrown: () => number } {
  let thrown = 0;
  const limit = fault.times ?? 1;
  const d1Error = () => Object.assign(new Error(`D1_ERROR: ${fault.message}`), { name: 'Error' });
  async function guarded<T>(sqls: string[], execute: () => Promise<T>): Promise<T> {
    const matches = thrown < limit && sqls.some((sql) => fault.on.test(sql));
    if (!matches) return execute();
    thrown += 1;
    if (fault.when === 'after') await execute();
    throw d1Error();
  }
  const sqlOf = new WeakMap<object, string>();
  const innerOf = new WeakMap<object, D1PreparedStatement>();
  const wrap = (sql: string, inner: D1PreparedStatement): D1PreparedStatement => {
    const statement = {
      bind: (...values: unknown[]) => wrap(sql, inner.bind(...values)),
      run: () => guarded([sql], () => inner.run()),
      all: () => guarded([sql], () => inner.all()),
      first: (column?: string) => guarded([sql], () => (column === undefined ? inner.first() : inner.first(column))),
      raw: (options?: { columnNames: true }) => guarded([sql], () => (options ? inner.raw(options) : inner.raw())),
    } as unknown as D1PreparedStatement;
    sqlOf.set(statement, sql);
    innerOf.set(statement, inner);
    return statement;
  };
  const db = {
    prepare: (sql: string) => wrap(sql, real.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) =>
      guarded(statements.map((s) => sqlOf.get(s) ?? ''), () => real.batch(statements.map((s) => innerOf.get(s) ?? s))),
    exec: (sql: string) => real.exec(sql),
    withSession: (constraint?: string) => real.withSession(constraint),
  } as unknown as D1Database;
  return { db, thrown: () => thrown };
}
