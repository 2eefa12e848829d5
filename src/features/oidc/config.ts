import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../http/app-env';
import { ApiError } from '../../core/errors';

/**
 * The OpenID Provider's fixed values, each with its reason
 * (docs/openid-provider.md). Lifetimes are whole seconds.
 */

/** RFC 9700 §4.5 / OIDC Core §3.1.2.1: a code is exchanged within moments; 60 s leaves room for a slow client. */
export const CODE_TTL_SECONDS = 60;
/** The issue: an ID token lives at most one hour (it proves a sign-in, it is not a session). */
export const ID_TOKEN_TTL_SECONDS = 3600;
/** How long a person has to finish the hosted pages of one authorization request. */
export const TICKET_TTL_SECONDS = 900;
/** The password step's token (and its cookie) lasts as long as any password-only token: MFA_TOKEN_TTL_SECONDS caps it. */
export const LOGIN_COOKIE_MAX_SECONDS = 300;

/** The scopes this provider knows, in the order a granted `scope` lists them; others are ignored (OIDC Core §3.1.2.1). */
export const SCOPES = ['openid', 'profile', 'offline_access'] as const;
export type Scope = (typeof SCOPES)[number];

/** RFC 6265bis §4.1.3.2: `__Host-` cookies are Secure, host-only and Path=/, so no subdomain can set or read them. */
export const PROVIDER_COOKIE = '__Host-edge-mfa-op';
/** The browser's binding for CSRF tokens: random, set by /authorize. */
export const FLOW_COOKIE = '__Host-edge-mfa-flow';
/** The password-only token between the password step and the second factor. */
export const LOGIN_COOKIE = '__Host-edge-mfa-login';

/** Bounds on what a client sends, so nothing unbounded is stored or echoed. */
export const STATE_MAX_CHARS = 1024;
export const NONCE_MAX_CHARS = 512;
/** A login_hint longer than a username can be (the sign-in field's maxlength) prefills nothing. */
export const LOGIN_HINT_MAX_CHARS = 64;
/** RFC 7636 §4.2: a S256 challenge is the base64url of 32 bytes. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** API.md: without ISSUER_URL the provider's routes do not exist. */
export const requireProvider = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get('settings').issuerUrl === null) throw new ApiError('not_found');
  await next();
});

/** The issuer, on a route behind requireProvider. */
export function issuerOf(c: { get(key: 'settings'): { issuerUrl: string | null } }): string {
  return c.get('settings').issuerUrl!;
}

/** Keeps the scopes this provider knows, in a fixed order (the key of a remembered consent). */
export function knownScopes(requested: string): Scope[] {
  const asked = new Set(requested.split(' ').filter(Boolean));
  return SCOPES.filter((scope) => asked.has(scope));
}
