// Part of `npm run bench -- --only rows`: bytes stored per row, measured, and the
// capacity of one D1 database derived from them and from the rows step's counts.
// The rows step leaves its local D1 (a SQLite file) with the real rows of two
// journeys; this copies the file, multiplies each table's rows (fresh values in
// every unique column, so every index grows as in production), and reads the
// page sizes from SQLite's dbstat. A count of bytes, not a timing: the same
// schema gives the same figures on any machine. Writes the "Storage and
// capacity" section of BENCHMARKS.md between its markers.
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { outDir, root } from './lib.mjs';

const START = '<!-- storage:start -->';
const END = '<!-- storage:end -->';
/** Copies of each row: enough that page overhead and B-tree fill settle. */
const COPIES = 20_000;
const GB = 1e9;
/** D1's limit per database (Workers Paid). */
const DATABASE_BYTES = 10 * GB;
/** D1's documented throughput: about 1,000 queries a second at 1 ms each. */
const STATEMENTS_PER_SECOND = 1000;
/** src/settings/retention.ts SESSION_GRACE_SECONDS, and SESSION_MAX_SECONDS' default: days a session row is kept. */
const SESSION_DAYS_KEPT = 7 + 1;
/** API.md: the security log keeps 90 days. */
const EVENT_DAYS_KEPT = 90;
/** Workers Paid, D1 pricing (developers.cloudflare.com/d1/platform/pricing, 2026): beyond the included amounts. */
const USD_PER_MILLION_ROWS_WRITTEN = 1.0;
const USD_PER_MILLION_ROWS_READ = 0.001;
const USD_PER_GB_MONTH = 0.75;

function localD1File(state) {
  const dir = `${state}/v3/d1/miniflare-D1DatabaseObject`;
  const file = readdirSync(dir).find((name) => name.endsWith('.sqlite') && name !== 'metadata.sqlite');
  if (!file) throw new Error(`no local D1 database under ${dir}`);
  return `${dir}/${file}`;
}

/** Bytes of a table and all its indexes, from dbstat (every page, free space included). */
function tableBytes(db, table) {
  const names = db.prepare("SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index')").all(table).map((row) => row.name);
  let bytes = 0;
  for (const name of names) bytes += Number(db.prepare('SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name = ?').get(name).bytes);
  return bytes;
}

/** Columns that must differ between copies: the primary key and every unique index's columns. */
function uniqueColumns(db, table) {
  const columns = new Set(db.prepare(`PRAGMA table_info(${table})`).all().filter((c) => c.pk > 0).map((c) => c.name));
  for (const index of db.prepare(`PRAGMA index_list(${table})`).all()) {
    if (!index.unique) continue;
    for (const column of db.prepare(`PRAGMA index_info(${index.name})`).all()) columns.add(column.name);
  }
  return columns;
}

/** Inserts COPIES of each row of `table`, unique columns refilled with random text of the same length. */
function multiply(db, table) {
  const info = db.prepare(`PRAGMA table_info(${table})`).all();
  const unique = uniqueColumns(db, table);
  const integerKey = info.find((c) => c.pk === 1 && c.type.toLowerCase() === 'integer' && info.filter((d) => d.pk > 0).length === 1);
  const exprs = info.map((c) => {
    if (integerKey && c.name === integerKey.name) return 'NULL';
    if (unique.has(c.name)) return `substr(lower(hex(randomblob(length("${c.name}")))), 1, length("${c.name}"))`;
    return `"${c.name}"`;
  });
  db.exec(`CREATE TEMP TABLE src AS SELECT * FROM "${table}"`);
  db.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${COPIES}) ` +
      `INSERT INTO "${table}" (${info.map((c) => `"${c.name}"`).join(', ')}) SELECT ${exprs.join(', ')} FROM src, n`,
  );
  db.exec('DROP TABLE src');
}

/** Bytes per row of `table` (its indexes included), or null when the journeys left no row to copy. */
function bytesPerRow(db, table) {
  const rows = Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get().n);
  if (rows === 0) return null;
  const before = tableBytes(db, table);
  multiply(db, table);
  return (tableBytes(db, table) - before) / (rows * COPIES);
}

const count = (steps, labels, table) =>
  steps.filter((s) => labels.includes(s.label)).flatMap((s) => s.statements).filter((st) => st.sql.includes(`insert into "${table}"`)).length;

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * `state`: the rows step's persisted local D1; `steps`: its measured journey
 * (statements with their SQL and rows), for what a login journey inserts.
 */
export function storageStep(state, steps) {
  const copy = `${outDir}storage.sqlite`;
  const source = localD1File(state);
  // Miniflare keeps its SQLite in WAL mode: the newest rows may be only in the -wal file.
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(copy + suffix, { force: true });
    if (existsSync(source + suffix)) copyFileSync(source + suffix, copy + suffix);
  }
  const db = new DatabaseSync(copy);
  const perRow = {};
  for (const table of ['users', 'recovery_codes', 'sessions', 'security_events']) perRow[table] = bytesPerRow(db, table);
  db.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });

  const journey = ['login (enrolled)', 'otp-verify'];
  const sessionsPerJourney = count(steps, journey, 'sessions');
  const eventsPerJourney = count(steps, journey, 'security_events');
  const sum = (pick) => steps.filter((s) => journey.includes(s.label)).reduce((total, s) => total + pick(s), 0);
  const statements = sum((s) => s.statements.length);
  const rowsWritten = sum((s) => s.rowsWritten);
  const rowsRead = sum((s) => s.rowsRead);

  const accountBytes = perRow.users + 10 * perRow.recovery_codes;
  // One journey a day per daily user, in steady state with the daily cleanup on.
  const perDailyUser = accountBytes + sessionsPerJourney * perRow.sessions * SESSION_DAYS_KEPT + eventsPerJourney * perRow.security_events * EVENT_DAYS_KEPT;
  const usersByStorage = DATABASE_BYTES / perDailyUser;
  const journeysPerSecond = STATEMENTS_PER_SECOND / statements;
  const costPerMillion = rowsWritten * USD_PER_MILLION_ROWS_WRITTEN + rowsRead * USD_PER_MILLION_ROWS_READ;
  const storageGbPerMillionDaily = (perDailyUser * 1e6) / GB;

  const section = [
    START,
    '## Storage and capacity per database',
    '',
    'Bytes per row measured from SQLite\'s `dbstat` after multiplying the rows the journeys above',
    `left ${fmt(COPIES)} times (each index included, new values in every unique column); bench/storage.mjs.`,
    '',
    '| row | bytes (table + indexes) | per login journey | kept |',
    '| --- | ---: | ---: | --- |',
    `| account (user + 10 recovery codes) | ${fmt(accountBytes)} | — | while the account exists |`,
    `| session | ${fmt(perRow.sessions)} | ${sessionsPerJourney} | up to ${SESSION_DAYS_KEPT} days (24 h life + 7 days grace) |`,
    `| security event | ${fmt(perRow.security_events)} | ${eventsPerJourney} | ${EVENT_DAYS_KEPT} days |`,
    '',
    `One daily user (one login journey a day, steady state, hourly cleanup on) holds ${fmt(perDailyUser / 1000, 1)} kB, so a`,
    `10 GB database holds about **${fmt(usersByStorage / 1000)} thousand daily users**; the security log's 90 days are`,
    `${fmt(((eventsPerJourney * perRow.security_events * EVENT_DAYS_KEPT) / perDailyUser) * 100)}% of it.`,
    `A login journey is ${statements} statements, ${rowsRead} rows read and ${rowsWritten} rows written: at D1's documented`,
    `~1,000 statements a second, one database serves about **${fmt(journeysPerSecond)} journeys a second** at peak.`,
    `A million journeys cost about $${fmt(costPerMillion, 2)} in D1 rows (${rowsWritten} M rows written at $1.00/M, ${rowsRead} M read at`,
    `$0.001/M, beyond the plan's included amounts) and a million daily users store ${fmt(storageGbPerMillionDaily, 1)} GB`,
    `($${fmt(storageGbPerMillionDaily * USD_PER_GB_MONTH, 2)} a month at $0.75/GB-month).`,
    END,
  ].join('\n');
  console.log(section);
  insertStorageSection(section);
  return { section, perRow, sessionsPerJourney, eventsPerJourney, perDailyUser, usersByStorage, journeysPerSecond, costPerMillion };
}

/** Puts the section in BENCHMARKS.md between its markers (or appends the first). */
export function insertStorageSection(section) {
  const path = `${root}BENCHMARKS.md`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = current.includes(START) ? current.replace(new RegExp(`${START}[\\s\\S]*?${END}`), () => section) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
