/**
 * The per-credential budget of passwordless sign-in (`pkcred:<subject>`, issue 21). The
 * request names no account, so the budget lives on the primary and is keyed by the
 * credential id alone: its SHA-256, so a throttle row never spells out a credential id.
 * One subject function for the sign-in that counts and for support, which clears and
 * reads the budgets of an account's passkeys (their rows are on another database than
 * the account's on a sharded deployment).
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, gt, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { throttles } from '../../db/schema';
import { sha256 } from '../../webauthn/bytes';
import { throttleKey } from '../throttle/throttle';

/** The budget's subject for a credential id (the base64url of its raw id, as stored). */
export async function credentialBudgetSubject(credentialId: string): Promise<string> {
  return encodeBase64urlNoPadding(await sha256(new TextEncoder().encode(credentialId)));
}

async function keysOf(credentialIds: readonly string[]): Promise<string[]> {
  return Promise.all(credentialIds.map(async (id) => throttleKey('pkcred', await credentialBudgetSubject(id))));
}

/** Support's unlock: the budgets (and so the locks) of these credentials are gone. */
export async function clearCredentialBudgets(primary: Db, credentialIds: readonly string[]): Promise<void> {
  if (credentialIds.length === 0) return;
  await primary.delete(throttles).where(inArray(throttles.key, await keysOf(credentialIds)));
}

/** Whether a passwordless sign-in with any of these credentials is locked now. */
export async function credentialBudgetLocked(primary: Db, credentialIds: readonly string[], now: number): Promise<boolean> {
  if (credentialIds.length === 0) return false;
  const [row] = await primary
    .select({ key: throttles.key })
    .from(throttles)
    .where(and(inArray(throttles.key, await keysOf(credentialIds)), gt(throttles.lockedUntil, now)))
    .limit(1);
  return row !== undefined;
}
