import type { SigningKeyRow } from '../db/schema';
import { ACCESS_TOKEN_TTL_SECONDS_BOUNDS } from '../settings/tunables';

/**
 * The rotation timeline of API.md "Signing keys (v2)", as pure functions over
 * the stored rows, so every isolate makes the same choice from the same rows.
 */

/** API.md: a new key is in the JWKS at least 48 h before it first signs, so cached JWKS copies know it. */
export const PUBLISH_AHEAD_SECONDS = 48 * 3600;
/** API.md: the current key signs for 30 days. */
export const SIGN_SECONDS = 30 * 86400;
/** The upper bound of ACCESS_TOKEN_TTL_SECONDS (one declaration, settings/tunables.ts): no access token outlives its iat by more. */
export const ACCESS_TOKEN_MAX_TTL_SECONDS = ACCESS_TOKEN_TTL_SECONDS_BOUNDS.max;
/**
 * API.md: a retired key stays published 24 h past the last token it signed
 * could expire. The last such token was issued before sign_until and lives at
 * most ACCESS_TOKEN_MAX_TTL_SECONDS (the configuration's upper bound, so a
 * lowered TTL never strands tokens issued under the old one).
 */
export const RETIRED_PUBLISH_SECONDS = ACCESS_TOKEN_MAX_TTL_SECONDS + 24 * 3600;
/**
 * The successor is made one cron period (a day) before it must be, so a daily
 * run always finds it due with at least 48 h to spare and the outgoing key's
 * 30 days are kept exactly; a late or missed run only lengthens them.
 */
export const ROTATION_LEAD_SECONDS = PUBLISH_AHEAD_SECONDS + 24 * 3600;
/** Rows whose publication ended this long ago are deleted by the cron. */
export const PRUNE_AFTER_SECONDS = 30 * 86400;

type Row = Pick<SigningKeyRow, 'kid' | 'publishAt' | 'signFrom' | 'signUntil' | 'publishedUntil' | 'revokedAt'>;

/**
 * The one key that signs at `t`: among keys not revoked whose window
 * [sign_from, sign_until) holds `t`, the greatest sign_from, then the greatest
 * kid. Windows are disjoint by construction; the tie-break makes the answer
 * unique even if a race ever made two overlap.
 */
export function signerAt<T extends Row>(rows: readonly T[], t: number): T | null {
  let best: T | null = null;
  for (const row of rows) {
    if (row.revokedAt !== null || row.signFrom > t || row.signUntil <= t) continue;
    if (!best || row.signFrom > best.signFrom || (row.signFrom === best.signFrom && row.kid > best.kid)) best = row;
  }
  return best;
}

/** In the JWKS at `t`: not revoked, and inside [publish_at, published_until). */
export function isPublishedAt(row: Row, t: number): boolean {
  return row.revokedAt === null && row.publishAt <= t && t < row.publishedUntil;
}

/** The earliest key, not revoked, that has yet to start signing. */
export function nextPending<T extends Row>(rows: readonly T[], t: number): T | null {
  let next: T | null = null;
  for (const row of rows) {
    if (row.revokedAt === null && row.signFrom > t && (!next || row.signFrom < next.signFrom)) next = row;
  }
  return next;
}

export interface KeyWindow {
  publishAt: number;
  signFrom: number;
  signUntil: number;
  publishedUntil: number;
}

function windowFrom(publishAt: number, signFrom: number, signUntil: number): KeyWindow {
  return { publishAt, signFrom, signUntil, publishedUntil: signUntil + RETIRED_PUBLISH_SECONDS };
}

/**
 * A key that must sign at once: the first key of a new deployment, or the
 * replacement of a revoked current key. It ends where an already published
 * successor begins, so windows stay disjoint.
 */
export function immediateWindow(rows: readonly Row[], now: number): KeyWindow {
  const pending = nextPending(rows, now);
  return windowFrom(now, now, Math.min(now + SIGN_SECONDS, pending ? pending.signFrom : Infinity));
}

export interface SuccessorPlan {
  window: KeyWindow;
  /** The signer whose window is extended to meet the successor (compare-and-swap on its sign_until). */
  predecessorKid: string;
  predecessorSignUntil: number;
}

/**
 * The successor the cron should publish now, or null when none is due: there
 * is already a pending key, or the signer has more than ROTATION_LEAD_SECONDS
 * left. It starts when the signer ends, or 48 h from now if that is later (a
 * late cron, a revoked pending key); the signer then signs until then.
 */
export function planSuccessor(rows: readonly Row[], now: number): SuccessorPlan | null {
  const signer = signerAt(rows, now);
  if (!signer || nextPending(rows, now)) return null;
  if (now < signer.signUntil - ROTATION_LEAD_SECONDS) return null;
  const signFrom = Math.max(now + PUBLISH_AHEAD_SECONDS, signer.signUntil);
  return {
    window: windowFrom(now, signFrom, signFrom + SIGN_SECONDS),
    predecessorKid: signer.kid,
    predecessorSignUntil: signer.signUntil,
  };
}
