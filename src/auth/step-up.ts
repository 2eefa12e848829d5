import { STEP_UP_MAX_AGE_SECONDS } from '../config';
import { ApiError } from '../errors';
import type { AuthContext } from './session-lookup';

/** True when a second factor was proven in this session within the last STEP_UP_MAX_AGE_SECONDS. */
export function isRecentlyAuthenticated(auth: AuthContext, now: number): boolean {
  return auth.authTime !== null && now - auth.authTime <= STEP_UP_MAX_AGE_SECONDS;
}

/**
 * API.md step-up (RFC 9470): the sensitive operations need a recent second
 * factor, else 401 insufficient_user_authentication; POST /reauthenticate
 * proves one again within the same session.
 */
export function requireRecentAuthentication(auth: AuthContext, now: number): void {
  if (!isRecentlyAuthenticated(auth, now)) throw new ApiError('insufficient_user_authentication');
}
