import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { webauthnCredentials } from '../../db/schema';

/**
 * Assurance (OpenID Connect EAP ACR Values 1.0; API.md, "The authorization
 * request"): `phrh` (a device-bound passkey) satisfies `phrh`, `phr` and
 * `aal2`; `phr` (any passkey) satisfies `phr` and `aal2`; `aal2` only itself.
 */
import { ACR_VALUES, type Acr } from '../../tokens/access-token';

const RANK: Record<Acr, number> = { aal2: 1, phr: 2, phrh: 3 };

export function isAcr(value: unknown): value is Acr {
  return typeof value === 'string' && (ACR_VALUES as readonly string[]).includes(value);
}

export function satisfies(proven: Acr, wanted: Acr): boolean {
  return RANK[proven] >= RANK[wanted];
}

/**
 * The `acr` to issue: without `acr_values` what the session proved; with
 * them, the first listed value the proof satisfies (never one it does not:
 * null then, and no code).
 */
export function acrFor(proven: Acr, wanted: readonly Acr[] | undefined): Acr | null {
  if (!wanted || wanted.length === 0) return proven;
  return wanted.find((value) => satisfies(proven, value)) ?? null;
}

/** The most this account can prove: a device-bound passkey (BE=0, WebAuthn L3 §6.1.3: single-device) `phrh`, any passkey `phr`, else `aal2` (MFA is mandatory). */
export async function accountCeiling(db: Db, userId: string): Promise<Acr> {
  const rows = await db
    .select({ backupEligible: webauthnCredentials.backupEligible })
    .from(webauthnCredentials)
    .where(eq(webauthnCredentials.userId, userId))
    .limit(50);
  if (rows.some((row) => !row.backupEligible)) return 'phrh';
  return rows.length > 0 ? 'phr' : 'aal2';
}

/** Whether the account can meet any of the values asked for. */
export function canMeet(ceiling: Acr, wanted: readonly Acr[] | undefined): boolean {
  return !wanted || wanted.length === 0 || wanted.some((value) => satisfies(ceiling, value));
}
