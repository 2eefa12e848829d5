import { env } from 'cloudflare:test';
import { drizzle } from 'drizzle-orm/d1';
import type { Db } from '../../src/db/client';
import * as schema from '../../src/db/schema';
import type { SigningKeyRow } from '../../src/db/schema';
import type { AccessTokenSettings } from '../../src/tokens/access-token';
import { deriveSigningKeyWrapKey } from '../../src/tokens/signing-key-crypto';

/** A fixed start, Tue 2026-12-01 03:17 UTC (the cron's minute). */
export const T0 = 1_796_095_020;
export const HOUR = 3600;
export const DAY = 86400;

/**
 * A drizzle wrapper of its own: each one has its own key cache, as each
 * isolate of a deployment does, while all share the one D1.
 */
export function isolate(): Db {
  return drizzle(env.DB);
}

export async function clearKeys(): Promise<void> {
  await env.DB.prepare('DELETE FROM signing_keys').run();
}

export async function keyRows(): Promise<SigningKeyRow[]> {
  const db = isolate();
  return db.select().from(schema.signingKeys).orderBy(schema.signingKeys.signFrom).all();
}

export async function tokenSettings(overrides: Partial<AccessTokenSettings> = {}): Promise<AccessTokenSettings> {
  return {
    issuer: env.ISSUER,
    audience: env.ISSUER,
    accessTokenTtlSeconds: 300,
    signingKeyWrapKey: await deriveSigningKeyWrapKey(env.TOTP_ENCRYPTION_KEY),
    ...overrides,
  };
}

/** The one-line emergency revoke of the README, run as the operator would. */
export async function revoke(kid: string): Promise<void> {
  await env.DB.prepare("UPDATE signing_keys SET revoked_at = unixepoch() WHERE kid = ?").bind(kid).run();
}

/** Non-revoked keys whose signing windows overlap: must always be empty. */
export function overlaps(rows: readonly SigningKeyRow[]): [string, string][] {
  const live = rows.filter((row) => row.revokedAt === null);
  const pairs: [string, string][] = [];
  for (const a of live) {
    for (const b of live) {
      if (a.kid < b.kid && a.signFrom < b.signUntil && b.signFrom < a.signUntil) pairs.push([a.kid, b.kid]);
    }
  }
  return pairs;
}
