/**
 * One list per fact: src/core/user-data.ts is THE list of what an account
 * deletion empties. delete.test.ts counts one user's rows after DELETE /me,
 * which cannot see a table that test never wrote to: a table added later with
 * a `user_id` column, forgotten in the list and without a cascading foreign
 * key, would keep a deleted person's rows while that test still passed. This
 * check reads the schema instead: every table with a `user_id` column is
 * emptied by the list, or by a foreign key that cascades from a table that
 * is (`users` itself, `sessions`...).
 */
import { env } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import { userDataDeletions } from '../../../src/core/user-data';

interface Table {
  name: string;
  sql: string;
}

/** The tables with a `user_id` column that neither `listed` nor a cascade from an emptied table empties. */
function leftBehind(tables: Table[], listed: string[]): string[] {
  const emptied = new Set(['users', ...listed]);
  const cascadesFrom = (table: Table) => [...table.sql.matchAll(/FOREIGN KEY \([^)]*\) REFERENCES [`"]?(\w+)[`"]?\s*\([^)]*\)[^,)]*?ON DELETE cascade/gi)].map((m) => m[1]!);
  for (let grew = true; grew; ) {
    grew = false;
    for (const table of tables) {
      if (!emptied.has(table.name) && cascadesFrom(table).some((parent) => emptied.has(parent))) {
        emptied.add(table.name);
        grew = true;
      }
    }
  }
  return tables.filter((t) => /[`"]user_id[`"]/.test(t.sql) && !emptied.has(t.name)).map((t) => t.name);
}

describe('what an account owns is one list (core/user-data.ts)', () => {
  it('every table with a user_id column is emptied by the list or by a cascade from a table that is', async () => {
    const listed = userDataDeletions(drizzle(env.DB), { id: 'u', usernameKey: 'u' }, sql`1`).map((statement) => /^delete from "(\w+)"/.exec(statement.toSQL().sql)?.[1] ?? statement.toSQL().sql);
    expect(listed).toEqual(expect.arrayContaining(['sessions', 'recovery_codes', 'security_events', 'webauthn_credentials']));
    // (D1 refuses pragma_table_info and pragma_foreign_key_list; the CREATE statements say the same.)
    const { results: tables } = await env.DB.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL ORDER BY name").all<Table>();
    const withUserId = tables.filter((t) => /[`"]user_id[`"]/.test(t.sql)).map((t) => t.name);
    // The provider's tables are emptied by cascades: from users (codes, consents) and from sessions (grants).
    expect(withUserId).toEqual(expect.arrayContaining(['sessions', 'oidc_codes', 'oidc_consents', 'oidc_grants']));
    expect(leftBehind(tables, listed)).toEqual([]);
  });

  it('the check fails for a table with a user_id column that nothing empties, and not for one that cascades', () => {
    const tables: Table[] = [
      { name: 'users', sql: 'CREATE TABLE `users` (`id` text PRIMARY KEY NOT NULL)' },
      { name: 'sessions', sql: 'CREATE TABLE `sessions` (`id` text PRIMARY KEY NOT NULL, `user_id` text NOT NULL)' },
      { name: 'devices', sql: 'CREATE TABLE `devices` (`id` text PRIMARY KEY NOT NULL, `user_id` text NOT NULL)' },
      { name: 'notes', sql: 'CREATE TABLE `notes` (`id` text, `user_id` text NOT NULL, FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade)' },
      { name: 'grants', sql: 'CREATE TABLE `grants` (`session_id` text, `user_id` text NOT NULL, FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade)' },
      { name: 'links', sql: 'CREATE TABLE `links` (`device_id` text, `user_id` text NOT NULL, FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade)' },
      { name: 'kept', sql: 'CREATE TABLE `kept` (`user_id` text, FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action)' },
    ];
    expect(leftBehind(tables, ['sessions'])).toEqual(['devices', 'links', 'kept']);
    expect(leftBehind(tables, ['sessions', 'devices', 'kept'])).toEqual([]);
  });
});
