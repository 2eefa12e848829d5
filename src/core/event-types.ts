/**
 * THE list of security-event types: what the account's owner sees in
 * GET /me/security-events, each with the words the page shows for it. The
 * stored type (core/events.ts), the log names (core/log.ts), the OpenAPI enum
 * (http/openapi/responses.ts) and the page (features/page/client) all import
 * this one object, so a new type is one line here and nowhere else; its words
 * are required by the type checker and by test/features/self-service.
 *
 * No imports: the page's browser bundle includes this file.
 */
export const SECURITY_EVENT_WORDS = {
  login: 'Password accepted',
  mfa_verified: 'Signed in with two factors',
  passkey_signin: 'Signed in with a passkey alone (no password)',
  reauthenticated: 'Second step confirmed again',
  code_failed: 'Wrong code entered',
  password_failed: 'Wrong password entered in a signed-in session',
  locked: 'Sign-in locked for a while after too many failures',
  enrollment_started: 'Authenticator app setup started',
  enrollment_confirmed: 'Authenticator app set up',
  recovery_code_used: 'Recovery code used',
  recovery_codes_regenerated: 'New recovery codes made',
  mfa_disabled: 'Two-step sign-in turned off',
  password_changed: 'Password changed',
  session_ended: 'Session ended',
  refresh_token_reused: 'A stale sign-in was reused; that session was ended',
  passkey_added: 'Passkey added',
  passkey_removed: 'Passkey removed',
  passkey_refused: 'Passkey refused',
  admin_mfa_reset: 'Two-step sign-in reset by an administrator',
  admin_unlock: 'Account unlocked by an administrator',
  admin_password_reset_issued: 'Password reset link issued by an administrator',
  password_reset: 'Password reset',
  // The OpenID Provider (features/oidc): an application was allowed or refused,
  // a code was exchanged or refused, an application's tokens were revoked.
  oidc_consent_granted: 'Access allowed for an application',
  oidc_consent_denied: 'Access refused for an application',
  oidc_code_exchanged: 'Signed in to an application',
  oidc_code_refused: 'An application’s sign-in code was refused',
  oidc_code_reused: 'A sign-in code was used twice; that application’s session was ended',
  oidc_token_revoked: 'An application’s sign-in was revoked',
  oidc_grant_revoked: 'An application’s access was removed (its consent and its sign-ins)',
} as const satisfies Record<string, string>;

export type SecurityEventType = keyof typeof SECURITY_EVENT_WORDS;

/**
 * The factor an event is about, as an RFC 8176 `amr` value: the one proven
 * (`pwd`, `otp`, `pop` for a passkey, `rec` for a recovery code) or the one
 * added, changed or removed.
 */
export const EVENT_METHODS = ['pwd', 'otp', 'pop', 'rec'] as const;
export type EventMethod = (typeof EVENT_METHODS)[number];

/** The types in declaration order, for z.enum and for iteration. */
export const SECURITY_EVENT_TYPES = Object.keys(SECURITY_EVENT_WORDS) as [SecurityEventType, ...SecurityEventType[]];
