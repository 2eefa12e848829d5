import type { Context, Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app-env';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';

/** The binding's window (wrangler.toml `[[ratelimits]]` period). */
const WINDOW_SECONDS = 60;

/**
 * A coarse per-client-IP flood filter for /register and /login, in front of
 * the exact per-account throttles in D1. The Rate Limiting binding counts per
 * Cloudflare location and is eventually consistent, so it is no security
 * boundary on its own; it keeps floods away from scrypt and the database.
 */
export const ipFloodFilter = createMiddleware<AppEnv>(async (c, next) => floodCheck(c.req.path, c, next));

/**
 * The same filter under another route's bucket: the provider's hosted password and
 * sign-up steps spend `/login`'s and `/register`'s, so a script cannot spray passwords
 * (or make accounts) through the hosted pages at a rate the JSON routes refuse.
 */
export function ipFloodFilterAs(bucket: '/login' | '/register') {
  return createMiddleware<AppEnv>(async (c, next) => floodCheck(bucket, c, next));
}

async function floodCheck(bucket: string, c: Context<AppEnv>, next: Next): Promise<void> {
  const ip = c.req.header('CF-Connecting-IP') ?? 'unknown';
  const { success } = await c.env.AUTH_RATE_LIMITER.limit({ key: `${bucket}:${ip}` });
  if (!success) {
    logEvent('rate_limited', { reason: bucket });
    throw new ApiError('too_many_requests', { retryAfterSeconds: WINDOW_SECONDS });
  }
  await next();
}
