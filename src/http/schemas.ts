import * as z from 'zod';
import { hasInvisibleOrControl, normalizeUsername, usernameProblem } from '../core/identity';

/**
 * Request bodies. Unknown fields are dropped by z.object, so nothing a client
 * adds (`mfaEnabled`, `authorized`, `__proto__`) can reach storage.
 */

const username = z
  .string()
  .max(1024, 'must be 3 to 64 characters')
  .transform(normalizeUsername)
  .superRefine((value, ctx) => {
    const problem = usernameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: '3 to 64 characters after trimming and NFKC; unique without regard to case.' });

/**
 * A new password: any string, whose length and strength the flow checks and
 * answers with 400 weak_password (API.md), however long; the 16 KiB body limit
 * bounds it.
 */
const newPassword = z
  .string()
  .meta({ description: '8 to 256 characters, not the username; never trimmed (else 400 weak_password).' });

/**
 * A password to check. One far longer than registration accepts, or one with a
 * lone surrogate (which registration refuses), can never be right, so it is
 * refused as a malformed body before it costs a scrypt hash or a throttle attempt.
 */
const password = z
  .string()
  .max(4096, 'must be at most 256 characters')
  .refine((value) => value.isWellFormed(), 'must not contain a lone surrogate')
  .meta({ description: 'The account password.' });

export const registrationSchema = z.object({ username, password: newPassword });

export const credentialsSchema = z.object({ username, password });

/** RFC 6238 codes: 6 ASCII digits; blanks a person types between groups are dropped. */
export const otpCode = z
  .string()
  .max(64, 'must be 6 digits')
  .transform((value) => value.replace(/[ \t]/g, ''))
  .refine((value) => /^[0-9]{6}$/.test(value), 'must be 6 digits')
  .meta({ description: 'The 6-digit TOTP code; blanks inside are ignored.', examples: ['123456'] });

/**
 * Two groups of five base32 characters; case, blanks and dashes are forgiven.
 * The alphabet (RFC 4648 §6, A-Z 2-7) has no 0, 1 or 8, so each of them can
 * only be the letter it looks like: O, I, B.
 */
const RECOVERY_LOOKALIKES: Record<string, string> = { '0': 'O', '1': 'I', '8': 'B' };
export const recoveryCodeInput = z
  .string()
  .max(64, 'must be a recovery code such as ABCDE-FGHIJ')
  // Blanks, any Unicode dash (Pd) and U+2212 MINUS SIGN are dropped. Only ASCII
  // a-z is upper-cased: String#toUpperCase maps ı, ſ and ﬀ into A-Z.
  .transform((value) =>
    value
      .replace(/[\s\p{Pd}\u2212]/gu, '')
      .replace(/[a-z]/g, (letter) => letter.toUpperCase())
      .replace(/[018]/g, (digit) => RECOVERY_LOOKALIKES[digit] ?? digit),
  )
  .refine((value) => /^[A-Z2-7]{10}$/.test(value), 'must be a recovery code such as ABCDE-FGHIJ')
  .meta({ description: 'A recovery code such as ABCDE-FGHIJ; case, blanks and dashes are forgiven; 0, 1, 8 read as O, I, B.' });

function exactlyOne(keys: string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter((key) => value[key] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `send exactly one of ${keys.join(', ')}` });
  };
}

/** `token` is the field's name in the original design and is still accepted. */
export const otpVerifySchema = z
  .object({ code: otpCode.optional(), token: otpCode.optional(), recoveryCode: recoveryCodeInput.optional() })
  .superRefine(exactlyOne(['code', 'token', 'recoveryCode']))
  .meta({ description: 'Exactly one of `code`, `token` (the original name of `code`) or `recoveryCode`.' });

export const disableOtpSchema = z
  .object({ code: otpCode.optional(), password: password.optional() })
  .superRefine(exactlyOne(['code', 'password']))
  .meta({ description: 'Exactly one of `code` (the current TOTP code) or `password`.' });

export const logoutSchema = z.object({
  scope: z
    .enum(['current', 'others', 'all'])
    .optional()
    .meta({ description: '`current` (the default): this session; `others`: every other session of the user; `all`: every session.' }),
  all: z.boolean().optional().meta({ description: 'The original form: `true` means `scope: "all"`.' }),
});

export const refreshSchema = z.object({
  refreshToken: z.string().max(4096, 'must be a refresh token').meta({ description: 'The refresh token of the last answer.' }),
});

/**
 * A browser's PublicKeyCredential.toJSON(): its shape and sizes are checked by the
 * verifier's parser (src/webauthn/response.ts), which answers 400 for anything else.
 */
const webauthnResponse = z
  .record(z.string(), z.unknown())
  .meta({ description: 'The credential as `PublicKeyCredential.toJSON()` gives it (WebAuthn L3 §5.1: RegistrationResponseJSON or AuthenticationResponseJSON).' });

const challengeId = z.string().min(1).max(64).meta({ description: 'The `challengeId` of the options this response answers.' });

/** A passkey's label: trimmed, 1 to 64 characters, nothing invisible. */
const passkeyName = z
  .string()
  .max(256, 'must be 1 to 64 characters')
  .transform((value) => value.normalize('NFKC').trim())
  .refine((value) => [...value].length >= 1 && [...value].length <= 64 && value.isWellFormed() && !hasInvisibleOrControl(value), 'must be 1 to 64 visible characters')
  .meta({ description: 'A label for the passkey, 1 to 64 characters; default "Passkey".' });

export const webauthnAssertionSchema = z.object({ challengeId, response: webauthnResponse });

export const webauthnRegisterOptionsSchema = z.object({ name: passkeyName.optional() });

export const webauthnRegisterVerifySchema = z.object({ challengeId, response: webauthnResponse, name: passkeyName.optional() });

export const credentialIdParams = z.object({
  id: z.string().max(1400).meta({ description: 'A passkey id (base64url) from GET /webauthn/credentials.', param: { name: 'id', in: 'path' } }),
});

/** DELETE /webauthn/credentials/{id}: end every other session too (ASVS 5.0 V7.4.3). */
export const removePasskeyQuery = z.object({
  endSessions: z
    .enum(['true', 'false'], 'must be true or false')
    .optional()
    .meta({ description: '`true`: every other session of the account ends with the passkey (the caller’s stays). Default `false`.' }),
});

/** /reauthenticate proves a factor again: a TOTP code, a recovery code or a passkey. */
export const reauthenticateSchema = z
  .object({ code: otpCode.optional(), recoveryCode: recoveryCodeInput.optional(), webauthn: webauthnAssertionSchema.optional() })
  .superRefine(exactlyOne(['code', 'recoveryCode', 'webauthn']))
  .meta({ description: 'Exactly one of `code`, `recoveryCode` or `webauthn` (`{ challengeId, response }` from POST /webauthn/login/options with this token).' });

export const sessionIdParams = z.object({
  id: z.string().max(64).meta({ description: 'A session id from GET /sessions.', param: { name: 'id', in: 'path' } }),
});

/** POST /password. */
export const passwordChangeSchema = z.object({
  currentPassword: password.meta({ description: 'The password as it is now.' }),
  newPassword,
});

/** DELETE /me: the password once more, on top of the step-up. */
export const deleteAccountSchema = z.object({ password });

/** GET /me/security-events. Query values arrive as text. */
export const securityEventsQuery = z.object({
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .refine((value) => value >= 1 && value <= 100, 'must be a whole number from 1 to 100')
    .optional()
    .meta({ description: 'Events per page, 1 to 100 (default 20).' }),
  before: z
    .string()
    .max(64, 'must be the `next` value of an earlier page')
    .regex(/^[A-Za-z0-9_-]+$/, 'must be the `next` value of an earlier page')
    .optional()
    .meta({ description: 'The `next` value of the previous page; absent: the newest events.' }),
});

/** Support's reason for an admin action, shown to the user in their security log. */
export const adminReasonSchema = z.object({
  reason: z
    .string()
    .trim()
    .min(1, 'give a reason; the user sees it')
    .max(500, 'must be at most 500 characters')
    .meta({ description: 'Why support did this (1 to 500 characters); shown to the user in their security log. Never put a secret here.' }),
});

export const adminUserQuery = z.object({
  username: z
    .string()
    .min(1, 'must be a username')
    .max(1024, 'must be a username')
    .meta({ description: 'Found without regard to case, after NFKC.' }),
});

export const userIdParams = z.object({
  id: z.string().min(1).max(64).meta({ param: { name: 'id', in: 'path' }, description: 'The user id from GET /admin/users.' }),
});

/** POST /password/reset. */
export const passwordResetSchema = z.object({
  resetToken: z.string().max(256, 'must be a reset token').meta({ description: 'The token support handed over.' }),
  newPassword,
});
