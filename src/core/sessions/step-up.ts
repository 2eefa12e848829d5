import { STEP_UP_MAX_AGE_SECONDS } from '../../settings/tunables';
import { ApiError } from '../errors';
import type { AuthContext } from './lookup';

/**
 * True when the second factor behind this very token was proven within the
 * last STEP_UP_MAX_AGE_SECONDS: the token's own `auth_time`, not only the
 * session's, so a token issued before a /reauthenticate (a stolen one, say)
 * does not borrow the fresh proof made with another token of the session.
 */
export function isRecentlyAuthenticated(auth: AuthContext, now: number): boolean {
  const tokenAuthTime = auth.claims.authTime;
  if (auth.authTime === null || tokenAuthTime === undefined) return false;
  return now - Math.min(tokenAuthTime, auth.authTime) <= STEP_UP_MAX_AGE_SECONDS;
}

/**
 * API.md step-up (RFC 9470): the sensitive operations need a recent second
 * factor, else 401 insufficient_user_authentication; POST /reauthenticate
 * proves one again within the same session.
 */
export function requireRecentAuthentication(auth: AuthContext, now: number): void {
  if (!isRecentlyAuthenticated(auth, now)) throw new ApiError('insufficient_user_authentication');
}
