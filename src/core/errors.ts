import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { STEP_UP_MAX_AGE_SECONDS } from '../settings/tunables';

/** Every error a client can see, with its status and a generic message (API.md). */
export const ERRORS = {
  invalid_json: [400, 'The request body is not valid JSON.'],
  validation_failed: [400, 'The request body does not have the expected shape.'],
  weak_password: [400, 'The password must be 8 to 256 characters and differ from the username.'],
  username_taken: [409, 'That username is already registered.'],
  invalid_credentials: [401, 'The username or password is wrong.'],
  unauthorized: [401, 'A valid bearer token is required.'],
  mfa_required: [403, 'This route needs a token from a verified second factor.'],
  mfa_already_enabled: [403, 'Two-factor authentication is already enabled; changing it needs a verified second factor.'],
  no_pending_enrollment: [404, 'There is no pending enrollment; call POST /create-otp first.'],
  mfa_not_enrolled: [409, 'Two-factor authentication is not set up for this account.'],
  invalid_code: [401, 'The code is wrong or was already used.'],
  invalid_refresh_token: [401, 'The refresh token is not valid; log in again.'],
  invalid_reset_token: [401, 'The password-reset token is not valid, was used, or has expired.'],
  insufficient_user_authentication: [401, 'This needs a second factor proven within the last 5 minutes: call POST /reauthenticate.'],
  factor_locked: [403, 'Too many wrong codes: codes are refused until a recovery code succeeds or support unlocks the account.'],
  last_factor: [409, 'This is the only second factor left; add another one first.'],
  too_many_requests: [429, 'Too many attempts; try again later.'],
  payload_too_large: [413, 'The request body is larger than 16 KiB.'],
  unsupported_media_type: [415, 'Send the request body as application/json.'],
  not_found: [404, 'No such route.'],
  internal: [500, 'Something went wrong on our side.'],
  unavailable: [503, 'The service is briefly unavailable; try again shortly.'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERRORS;

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface ErrorExtra {
  issues?: ValidationIssue[];
  retryAfterSeconds?: number;
  /** Replaces the catalog's message with a more specific one (never with a secret). */
  message?: string;
  /** `unauthorized` only: the presented bearer token is genuine but its time is up (see bearerChallenge). */
  tokenExpired?: boolean;
}

/** The words for a genuine token whose time is up: the 401's message and its challenge's error_description. */
export const TOKEN_EXPIRED_MESSAGE = 'The access token expired: get a new one with POST /refresh, or log in again.';
export const TOKEN_EXPIRED_DESCRIPTION = 'The access token expired';

const PRESENTED_BEARER = /^bearer(\s|$)/i;

/**
 * The `WWW-Authenticate` challenge of a 401, one rule for every code:
 * - the step-up challenge names its error and the largest acceptable age (RFC 9470 §3);
 * - `unauthorized` with a bearer token presented: `error="invalid_token"` (RFC 6750 §3.1),
 *   so a client library drops the token and authenticates again;
 * - with none presented (no Authorization header, or another scheme), and every 401
 *   whose failed credential travels in the body (`invalid_credentials`, `invalid_code`,
 *   `invalid_refresh_token`, `invalid_reset_token`): plain `Bearer`, no error code
 *   (RFC 6750 §3.1 "SHOULD NOT include an error code"). A presented token there is
 *   fine: `invalid_token` would make a client discard a good token over a mistyped code.
 * - an expired token that is otherwise genuine (`tokenExpired`) adds
 *   `error_description="The access token expired"` (RFC 6750 §3), so a client knows to
 *   refresh rather than to suspect its code. A forged, foreign or unknown-key token gets
 *   no description: which check failed would help only someone guessing at tokens.
 */
export function bearerChallenge(code: ErrorCode, authorization: string | undefined, tokenExpired = false): string {
  if (code === 'insufficient_user_authentication') {
    return `Bearer error="insufficient_user_authentication", error_description="A recent second factor is required", max_age=${STEP_UP_MAX_AGE_SECONDS}`;
  }
  if (code === 'unauthorized' && PRESENTED_BEARER.test(authorization ?? '')) {
    return tokenExpired ? `Bearer error="invalid_token", error_description="${TOKEN_EXPIRED_DESCRIPTION}"` : 'Bearer error="invalid_token"';
  }
  return 'Bearer';
}

/** The one builder for error responses: `{ error, message }` plus optional extras. */
export function errorResponse(
  c: Context,
  code: ErrorCode,
  extra: ErrorExtra = {},
): Response {
  const [status, defaultMessage] = ERRORS[code];
  const message = extra.message ?? defaultMessage;
  // RFC 9110 §15.5.2: every 401 MUST carry a challenge.
  if (status === 401) c.header('WWW-Authenticate', bearerChallenge(code, c.req.header('Authorization'), extra.tokenExpired));
  if (extra.retryAfterSeconds !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(extra.retryAfterSeconds))));
  const body = extra.issues ? { error: code, message, issues: extra.issues } : { error: code, message };
  return c.json(body, status);
}

/**
 * An expected failure thrown from a flow or middleware and turned into its JSON
 * by the app's onError. Carries no secret: only the public code and extras.
 */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly extra: ErrorExtra = {},
  ) {
    super(code);
    this.name = 'ApiError';
  }
}
