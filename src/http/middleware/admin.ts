import { createMiddleware } from 'hono/factory';
import { reservationStatement, readReservation, resetThrottle } from '../../core/throttle/throttle';
import { primaryDb } from '../../db/shards';
import type { AppEnv } from '../app-env';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import { truncateIp } from './client-info';

const encoder = new TextEncoder();
// RFC 9110 §11.1: the scheme name is case-insensitive.
const BEARER = /^bearer +(\S{1,1024})$/i;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Constant time over digests: comparing two fixed-length SHA-256 values
 * tells a timing attacker neither where the guess first differs nor how long
 * the real token is.
 */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * The admin routes: 404 not_found while ADMIN_TOKEN is not configured (the
 * API does not exist then); else the bearer must be ADMIN_TOKEN. Each
 * presented token takes an attempt from its client network's budget before it
 * is compared (so concurrent guesses cannot outrun the counter); the right
 * one clears it. Wrong or missing: 401, logged; locked: 429.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.get('settings').adminToken;
  if (expected === null) throw new ApiError('not_found');
  const match = BEARER.exec(c.req.header('Authorization') ?? '');
  if (!match) {
    logEvent('admin_token_refused', { reason: 'missing_token' });
    throw new ApiError('unauthorized');
  }
  // Per client network, not per account: shard-wide, so on the primary.
  const db = primaryDb(c.env);
  const now = nowSeconds();
  const network = truncateIp(c.req.header('CF-Connecting-IP')) ?? 'unknown';
  const rows = await reservationStatement(db, 'admin', network, now);
  const reservation = await readReservation(db, 'admin', network, rows, now);
  if (!reservation.ok) {
    logEvent('throttled', { reason: 'admin_token', retryAfterSeconds: reservation.retryAfterSeconds });
    throw new ApiError('too_many_requests', { retryAfterSeconds: reservation.retryAfterSeconds });
  }
  if (!(await sameSecret(match[1]!, expected))) {
    logEvent('admin_token_refused', { reason: 'wrong_token', ...(reservation.lockSeconds > 0 ? { retryAfterSeconds: reservation.lockSeconds } : {}) });
    throw new ApiError('unauthorized');
  }
  await resetThrottle(db, 'admin', network);
  await next();
});
