import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { PASSWORD_PROBLEMS, passwordRuleProblem } from '../identity';

/**
 * The blocklist key: NFKC (what is hashed), then lower-cased, so `Password1`
 * and `ＰＡＳＳＷＯＲＤ1` hit the row `password1`. The table is written by
 * scripts/common-passwords.mjs with the same two steps; SQLite's lower() is
 * ASCII-only, so the key is made here, not in SQL.
 */
export function blocklistKey(password: string): string {
  return password.normalize('NFKC').toLowerCase();
}

/**
 * NIST SP 800-63B-4 §3.1.1.2: is this one of the commonly used passwords of
 * migrations/*_common_passwords.sql? One primary-key lookup.
 */
export async function isCommonPassword(db: Db, password: string): Promise<boolean> {
  const row = await db.get<{ found: number }>(
    sql`SELECT 1 AS found FROM common_passwords WHERE password = ${blocklistKey(password)} LIMIT 1`,
  );
  return row !== undefined;
}

/**
 * Every rule a new password must pass (API.md, Passwords): registration,
 * password change and reset all call this. Returns the weak_password message
 * that names the rule that failed, or null if the password is acceptable.
 */
export async function passwordProblem(db: Db, username: string, password: string): Promise<string | null> {
  const problem = passwordRuleProblem(password, username);
  if (problem) return problem;
  return (await isCommonPassword(db, password)) ? PASSWORD_PROBLEMS.common : null;
}
