import type { SecurityEventType } from './event-types';

/**
 * Structured security events, one JSON line each. The fields are a closed set
 * of identifiers and reasons: there is no free-text field through which a
 * password, code, secret or token could reach a log. The names: every
 * owner-visible type (core/event-types.ts), and the operator-only ones below.
 */
export type SecurityEvent =
  | SecurityEventType
  | 'registered'
  | 'login_failed'
  | 'login_succeeded'
  | 'password_rehashed'
  | 'throttled'
  | 'replay_refused'
  | 'token_refreshed'
  | 'logout'
  | 'token_refused'
  | 'rate_limited'
  | 'account_deleted'
  | 'admin_action'
  | 'admin_token_refused'
  /** A backup-eligible passkey's counter did not advance: accepted (copies of a synced passkey share no counter), told to the operator. */
  | 'passkey_counter_regressed'
  /** D1 overloaded or briefly unreachable: answered 503 (src/db/transient.ts). */
  | 'storage_unavailable'
  /** The OpenID Provider (features/oidc): client changes (a support-log line), consent answers, refused tokens and clients. */
  | 'oidc_client_changed'
  | 'oidc_consent'
  | 'oidc_token_refused'
  | 'oidc_client_refused'
  | 'oidc_end_session'
  | 'oidc_grant_revoked'
  | 'oidc_backchannel_logout';

export interface EventFields {
  userId?: string;
  sessionId?: string;
  reason?: string;
  retryAfterSeconds?: number;
  /** `METHOD /path`, never the query string (it may carry anything a client sent). */
  route?: string;
}

export function logEvent(event: SecurityEvent, fields: EventFields = {}): void {
  console.log(JSON.stringify({ level: 'info', event, ...fields }));
}

/** Unexpected failures: the error's class and message only, never request data. */
export function logError(where: string, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  // drizzle's DrizzleQueryError puts the bound values after "params:"; they
  // can hold password hashes or sealed secrets, so they never reach the log.
  const message = error instanceof Error ? error.message.replace(/params:[\s\S]*$/, 'params: [redacted]') : '';
  console.error(JSON.stringify({ level: 'error', event: 'internal_error', where, name, message }));
}
