import type { z } from 'zod';
import { ERRORS, type ErrorCode } from '../errors';
import { credentialsSchema, disableOtpSchema, logoutSchema, otpVerifySchema, registrationSchema } from '../schemas';
import {
  createOtpResponse,
  loginResponse,
  meResponse,
  okResponse,
  otpVerifyResponse,
  qrcodeResponse,
  recoveryCodesResponse,
  registerResponse,
} from './responses';

/** `any`: a password-only or a full token; `full`: password and a verified second factor. */
export type TokenLevel = 'none' | 'any' | 'full';

export interface RouteSpec {
  method: 'get' | 'post';
  path: string;
  summary: string;
  description?: string;
  token: TokenLevel;
  /** The same zod schema the handler passes to parseBody. */
  body?: { schema: z.ZodType; required: boolean };
  success: {
    status: 200 | 201 | 204;
    description: string;
    json?: z.ZodType;
    /** Other media types the route can answer with, e.g. the QR code as SVG or the page as HTML. */
    other?: Record<string, { type: 'string' | 'object' }>;
  };
  /** The errors this route's own logic can answer; the generic ones are added by `errorCodesOf`. */
  errors: ErrorCode[];
}

/**
 * Every route the app serves, with what API.md promises about it. The
 * OpenAPI document is built from this table, and test/openapi.test.ts checks
 * that it lists exactly the routes of `app.routes`.
 */
export const ROUTES: RouteSpec[] = [
  {
    method: 'post',
    path: '/register',
    summary: 'Create an account',
    description: 'Usernames are trimmed, NFKC-normalized, 3 to 64 characters and unique without regard to case. Passwords are 8 to 256 characters and must differ from the username.',
    token: 'none',
    body: { schema: registrationSchema, required: true },
    success: { status: 201, description: 'The account was created.', json: registerResponse },
    errors: ['weak_password', 'username_taken', 'too_many_requests'],
  },
  {
    method: 'post',
    path: '/login',
    summary: 'Check the password; get a password-only token',
    description: 'MFA is mandatory: `mfa` says whether to enroll (`/create-otp`) or to enter a code (`/otp-verify`). Failed passwords are throttled per account from 10 consecutive failures.',
    token: 'none',
    body: { schema: credentialsSchema, required: true },
    success: { status: 200, description: 'The password is right.', json: loginResponse },
    errors: ['invalid_credentials', 'too_many_requests'],
  },
  {
    method: 'post',
    path: '/create-otp',
    summary: 'Start a TOTP enrollment',
    description: 'Makes a pending secret; only `/otp-verify` with a code from it makes it active. With a full token it starts a re-enrollment, and the old secret stays in force until the new one is confirmed.',
    token: 'any',
    success: { status: 201, description: 'A pending secret was made.', json: createOtpResponse },
    errors: ['mfa_already_enabled'],
  },
  {
    method: 'get',
    path: '/qrcode',
    summary: 'The pending secret as a QR code',
    description: 'With `Accept: image/svg+xml` the SVG itself. Shows only a pending secret; an active secret is never shown again.',
    token: 'any',
    success: {
      status: 200,
      description: 'The QR code of the pending secret.',
      json: qrcodeResponse,
      other: { 'image/svg+xml': { type: 'string' } },
    },
    errors: ['mfa_already_enabled', 'no_pending_enrollment'],
  },
  {
    method: 'post',
    path: '/otp-verify',
    summary: 'Verify a TOTP code or a recovery code; get a full token',
    description: 'Send exactly one of `code`, `token` (the original name of `code`) or `recoveryCode`. Codes are 6 digits (blanks ignored), accepted one 30 s step before or after now, never twice. After 5 consecutive failures the account is locked for 30 s, doubling up to 1 hour.',
    token: 'any',
    body: { schema: otpVerifySchema, required: true },
    success: { status: 200, description: 'The second factor is verified.', json: otpVerifyResponse },
    errors: ['invalid_code', 'no_pending_enrollment', 'mfa_not_enrolled', 'too_many_requests'],
  },
  {
    method: 'get',
    path: '/me',
    summary: 'The signed-in account',
    token: 'full',
    success: { status: 200, description: 'The account.', json: meResponse },
    errors: [],
  },
  {
    method: 'post',
    path: '/recovery-codes',
    summary: 'Replace the recovery codes',
    description: 'The old set stops working.',
    token: 'full',
    success: { status: 201, description: 'A new set of ten.', json: recoveryCodesResponse },
    errors: ['mfa_not_enrolled'],
  },
  {
    method: 'post',
    path: '/disable-otp',
    summary: 'Turn two-factor authentication off',
    description: 'Needs the current code or the password. Every session of the user is revoked; the next login asks to enroll again.',
    token: 'full',
    body: { schema: disableOtpSchema, required: true },
    success: { status: 200, description: 'Two-factor authentication is off.', json: okResponse },
    errors: ['invalid_code', 'invalid_credentials', 'mfa_not_enrolled', 'too_many_requests'],
  },
  {
    method: 'post',
    path: '/logout',
    summary: 'Revoke this session, or all of the user’s',
    token: 'any',
    body: { schema: logoutSchema, required: false },
    success: { status: 204, description: 'Revoked; no body.' },
    errors: [],
  },
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness and storage check',
    token: 'none',
    success: { status: 200, description: 'Storage answers.', json: okResponse },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    token: 'none',
    success: { status: 200, description: 'The OpenAPI 3.1 document.', other: { 'application/json': { type: 'object' } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/',
    summary: 'The enrollment page for people',
    description: 'An HTML page that walks a person through registration, login, TOTP enrollment and verification.',
    token: 'none',
    success: { status: 200, description: 'The page.', other: { 'text/html': { type: 'string' } } },
    errors: [],
  },
];

/**
 * Every error a route can answer, in catalog order: its own plus those its
 * middleware adds. Every POST goes through the JSON body reader (413, 415,
 * invalid_json) even when it takes no body, and any route can fail with 500.
 */
export function errorCodesOf(route: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors);
  if (route.method === 'post') {
    codes.add('invalid_json').add('payload_too_large').add('unsupported_media_type');
  }
  if (route.body) codes.add('validation_failed');
  if (route.token !== 'none') codes.add('unauthorized');
  if (route.token === 'full') codes.add('mfa_required');
  codes.add('internal');
  return (Object.keys(ERRORS) as ErrorCode[]).filter((code) => codes.has(code));
}
