/**
 * Which second factors an account has: a TOTP secret, passkeys, or both. "A second
 * factor is active" means either; recovery codes are a fallback, not a factor.
 */
import { sql, type SQL } from 'drizzle-orm';
import { users, webauthnCredentials, type UserRow } from '../db/schema';

export type Method = 'otp' | 'webauthn';

/**
 * The number of the user's passkeys, as a column expression (rides along with a read):
 * of the user `userId`, or, without it, of the `users` row being read. The column is
 * spelled out qualified: drizzle leaves columns unqualified in a one-table select,
 * where "id" inside this subquery would mean the credential's.
 */
export function passkeyCount(userId?: string) {
  const owner = userId === undefined ? sql.raw('"users"."id"') : sql`${userId}`;
  return sql<number>`(SELECT count(*) FROM ${webauthnCredentials} WHERE ${webauthnCredentials.userId} = ${owner})`;
}

/** API.md `methods`: the second factors this account can verify with now. */
export function methodsOf(user: Pick<UserRow, 'totpSecret'>, passkeys: number): Method[] {
  const methods: Method[] = [];
  if (user.totpSecret !== null) methods.push('otp');
  if (passkeys > 0) methods.push('webauthn');
  return methods;
}

export function hasSecondFactor(user: Pick<UserRow, 'totpSecret'>, passkeys: number): boolean {
  return methodsOf(user, passkeys).length > 0;
}

/** The SQL twin of hasSecondFactor, for a batch's guard. */
export function secondFactorActive(userId: string): SQL {
  return sql`(EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.totpSecret} IS NOT NULL)
    OR EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.userId} = ${userId}))`;
}

/** True when the user has a passkey (for guards that a password-only session must not pass). */
export function passkeyExists(userId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.userId} = ${userId})`;
}
