/**
 * What drizzle's `../pg-core/columns/enum.js` resolves to in the deployed
 * bundle (wrangler.toml `[alias]`, keyed by the exact relative path drizzle's
 * shared sql/sql.js imports it by, for its one name `isPgEnum`). The real
 * module brings Postgres column classes (pg-core's columns, foreign keys,
 * constraints) into a SQLite Worker: 1.0 KiB gzipped. This is the same test,
 * by the same global symbol, so a Postgres enum would still be recognised; the
 * app never builds one. The test pool runs the real module;
 * test/openapi/bundle-aliases.test.ts compares the two.
 */
const isPgEnumSym = Symbol.for('drizzle:isPgEnum');

export function isPgEnum(obj: unknown): boolean {
  return !!obj && typeof obj === 'function' && isPgEnumSym in obj && (obj as unknown as Record<symbol, unknown>)[isPgEnumSym] === true;
}
