import type { OpenAPIHono } from '@hono/zod-openapi';
import * as z from 'zod';
import type { AppEnv } from '../app-env';
import { ERRORS, type ErrorCode } from '../../core/errors';

/**
 * What every operation shares, declared once in `components` and referenced:
 * the error body, one example per error code, the security schemes, the tags.
 */

/** `none`: no token; `any`: a password-only or an access token; `full`: an access token; `admin`: the ADMIN_TOKEN secret. */
export type TokenLevel = 'none' | 'any' | 'full' | 'admin';

export const TAGS = {
  account: 'Registration, the password step, the profile and logout.',
  mfa: 'TOTP enrollment, the second-factor step and the MFA lifecycle.',
  sessions: 'Access and refresh tokens, step-up, the signing keys and the list of sessions.',
  passkeys: 'WebAuthn passkeys as a second factor: adding, using, listing and removing them.',
  service: 'Health, this document and the page for people.',
  oidc: 'The OpenID Provider (ISSUER_URL set): discovery, the authorization and token endpoints, userinfo, revocation, and the client registry behind ADMIN_TOKEN. Without ISSUER_URL these routes answer 404.',
  admin: 'The support desk: look accounts up, reset MFA, unlock, issue password-reset tokens. Needs ADMIN_TOKEN; without it these routes answer 404.',
} as const;
export type TagName = keyof typeof TAGS;

/**
 * Two bearer schemes, one a token kind: an `any` route accepts either (OpenAPI
 * 3.1 §4.8.30: alternatives are separate requirement objects), a `full` route
 * only the access token. Scopes belong to OAuth2 and OpenID schemes only.
 */
const SECURITY_SCHEMES = {
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The full token from `/otp-verify`: password and a verified second factor.',
  },
  passwordOnlyToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The token from `/login` (password only, 5 minutes at most): good for `/create-otp`, `/qrcode`, `/otp-verify` and `/logout`. Elsewhere it gets `403 mfa_required`.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The `ADMIN_TOKEN` secret of the support desk (at least 32 characters). Compared in constant time; wrong tokens are throttled per client network.',
  },
} as const;

export function securityOf(level: TokenLevel): Array<Record<string, string[]>> {
  if (level === 'none') return [];
  if (level === 'full') return [{ accessToken: [] }];
  if (level === 'admin') return [{ adminToken: [] }];
  return [{ accessToken: [] }, { passwordOnlyToken: [] }];
}

export const ERROR_SCHEMA_NAME = 'Error';
export const ERROR_SCHEMA_REF = `#/components/schemas/${ERROR_SCHEMA_NAME}`;
export const exampleRef = (code: ErrorCode) => `#/components/examples/${code}`;

/** `{ error, message }`, plus `issues` for validation_failed (API.md, Conventions). */
export const errorResponseSchema = z.strictObject({
  error: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]).meta({ description: 'The machine-readable code; the examples of each response list the codes it can carry.' }),
  message: z.string().meta({ description: 'Human-readable text; never a secret.' }),
  issues: z
    .array(z.strictObject({ path: z.string(), message: z.string() }))
    .optional()
    .meta({ description: 'Only with `validation_failed`: what is wrong, field by field.' }),
});

/** Call once every route is declared on `app`: an example is registered for each code some route references. */
export function registerComponents(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.register(ERROR_SCHEMA_NAME, errorResponseSchema);
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent('securitySchemes', name, scheme);
  const referenced = JSON.stringify(registry.definitions.filter((definition) => definition.type === 'route'));
  for (const [code, [, message]] of Object.entries(ERRORS)) {
    if (referenced.includes(`"${exampleRef(code as ErrorCode)}"`)) {
      registry.registerComponent('examples', code, { summary: code, value: { error: code, message } });
    }
  }
}
