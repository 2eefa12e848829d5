import { EVENT_METHODS, SECURITY_EVENT_TYPES } from '../../core/event-types';
import * as z from 'zod';

/**
 * Success bodies of API.md, declared once. The OpenAPI document is generated
 * from them, test/openapi/client.test.ts checks at compile time that each handler's
 * `c.json(...)` has exactly this type, and at run time that the real
 * responses parse. Strict objects: a field added to a handler but not here
 * fails those tests instead of going undocumented.
 */

const jwt = z.string().meta({ description: 'A JWT (HS256); send it as `Authorization: Bearer <token>`.' });
const expiresIn = z.number().int().positive().meta({ description: 'Seconds until the token expires.' });
const recoveryCodes = z
  .array(z.string())
  .meta({ description: 'Ten single-use recovery codes such as `ABCDE-FGHIJ`, shown only this once.' });
const otpauthUri = z.string().meta({
  description: 'Key URI Format: `otpauth://totp/<Issuer>:<username>?secret=...&issuer=<Issuer>&algorithm=SHA1&digits=6&period=30`.',
});

const methods = z
  .array(z.enum(['otp', 'webauthn']))
  .meta({ description: 'The second factors this account can verify with: `otp` (TOTP), `webauthn` (a passkey); empty before enrollment.' });

export const registerResponse = z.strictObject({ id: z.string(), username: z.string() });

export const loginResponse = z.strictObject({
  token: jwt.meta({ description: 'A password-only token (at most 5 minutes), good only for the MFA routes.' }),
  authorized: z.literal(false),
  mfa: z.enum(['enroll', 'verify']).meta({ description: '`enroll`: set up a second factor first; `verify`: prove one of `methods`.' }),
  methods,
  expiresIn,
});

export const createOtpResponse = z.strictObject({
  ok: z.literal(true),
  secret: z.string().meta({ description: 'The pending TOTP secret, base32 without padding (160 bits), for manual entry.' }),
  uri: otpauthUri,
});

export const qrcodeResponse = z.strictObject({
  imageUrl: z.string().meta({ description: 'The QR code of `uri` as a `data:image/svg+xml;base64,` URL.' }),
  uri: otpauthUri,
});

const accessToken = z.string().meta({
  description: 'An access token (JWT, EdDSA, `typ: at+jwt`): password and second factor. Verify it downstream with /.well-known/jwks.json.',
});
const refreshToken = z.string().meta({ description: 'Opaque; send it to POST /refresh before the access token expires. Each refresh rotates it.' });

export const otpVerifyResponse = z.strictObject({
  token: accessToken,
  refreshToken,
  authorized: z.literal(true),
  expiresIn,
  recoveryCodes: recoveryCodes.optional().meta({ description: 'Present only when this call completed an enrollment.' }),
});

export const tokensResponse = z.strictObject({ token: accessToken, refreshToken, authorized: z.literal(true), expiresIn });

const instant = z.string().meta({ description: 'ISO 8601 instant, UTC.' });

export const sessionsResponse = z.strictObject({
  sessions: z.array(
    z.strictObject({
      id: z.string(),
      current: z.boolean().meta({ description: 'The session of the token that asked.' }),
      createdAt: instant,
      lastUsedAt: instant,
      expiresAt: instant.meta({ description: 'When it ends if unused: the sooner of its absolute and idle ends.' }),
      amr: z.array(z.string()).meta({ description: 'RFC 8176 methods: `["pwd"]` before the second factor, `["pwd","otp"]`, `["pwd","rec"]`, `["pwd","pop"]`; `["pop","mfa"]` for a passkey alone, and a step-up in such a session names its factor alone (`["otp"]`, `["rec"]`, `["pop"]`).' }),
      userAgent: z.string().nullable(),
      ip: z.string().nullable().meta({ description: 'Truncated to /24 (IPv4) or /48 (IPv6) when the session began.' }),
    }),
  ),
});

export const jwksResponse = z.strictObject({
  keys: z.array(
    z.union([
      z.strictObject({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string(),
        kid: z.string().meta({ description: 'The RFC 7638 thumbprint.' }),
        alg: z.literal('EdDSA'),
        use: z.literal('sig'),
      }),
      // With ISSUER_URL set: the OpenID Provider's RS256 keys, 2048-bit, one beside each Ed25519 key.
      z.strictObject({ kty: z.literal('RSA'), n: z.string(), e: z.literal('AQAB'), kid: z.string(), alg: z.literal('RS256'), use: z.literal('sig') }),
    ]),
  ),
});

export const meResponse = z.strictObject({
  id: z.string(),
  username: z.string(),
  mfaEnabled: z.boolean(),
  methods,
  recoveryCodesRemaining: z.number().int().nonnegative(),
  createdAt: z.string().meta({ description: 'ISO 8601 instant, UTC.' }),
});

export const recoveryCodesResponse = z.strictObject({ recoveryCodes });

export const okResponse = z.strictObject({ ok: z.literal(true) });

export const disableOtpResponse = z.strictObject({
  ok: z.literal(true),
  recoveryCodesKept: z.literal(true).optional().meta({ description: 'Present when a passkey remains: the recovery codes stay as its fallback.' }),
});

export const securityEventsResponse = z.strictObject({
  events: z.array(
    z.strictObject({
      id: z.string(),
      type: z.enum(SECURITY_EVENT_TYPES).meta({ description: 'What happened (the page shows each with its own words).' }),
      at: instant,
      ip: z.string().nullable().meta({ description: 'The client network, truncated to /24 or /48.' }),
      userAgent: z.string().nullable(),
      sessionId: z.string().nullable(),
      reason: z.string().nullable().meta({ description: 'For admin actions the reason support gave; for `session_ended` after a logout of every session, `all`; for `passkey_removed` with every other session ended, `others`.' }),
      method: z
        .enum(EVENT_METHODS)
        .nullable()
        .meta({
          description:
            'The factor the event is about, as an RFC 8176 `amr` value: the one proven or the one added, changed or removed (`pwd` password, `otp` authenticator app, `pop` passkey, `rec` recovery code); null where none is (a session ended, support’s actions, events older than this field).',
        }),
    }),
  ),
  next: z.string().nullable().meta({ description: 'Pass as `before` for the next (older) page; null on the last page.' }),
});

export const adminUserResponse = z.strictObject({
  id: z.string(),
  username: z.string(),
  createdAt: instant,
  methods: z.array(z.string()).meta({ description: 'The second factors the account has, e.g. `["otp"]`; empty: none.' }),
  locked: z.boolean().meta({ description: 'A password or code lock is in force (or codes are refused after 100 failures).' }),
});

export const resetTokenResponse = z.strictObject({
  resetToken: z.string().meta({ description: 'Single use; hand it to the user over a checked channel. Shown only this once.' }),
  expiresIn: z.number().int().positive().meta({ description: 'Seconds until the token expires (3600).' }),
});

const challengeIdOut = z.string().meta({ description: 'Send it back with the response of the ceremony; good once, for 5 minutes, for this session only.' });

export const webauthnCreationOptionsResponse = z.strictObject({
  challengeId: challengeIdOut,
  publicKey: z
    .record(z.string(), z.unknown())
    .meta({ description: 'PublicKeyCredentialCreationOptionsJSON (WebAuthn L3 §5.4), for `PublicKeyCredential.parseCreationOptionsFromJSON()`.' }),
});

export const webauthnRequestOptionsResponse = z.strictObject({
  challengeId: challengeIdOut,
  publicKey: z
    .record(z.string(), z.unknown())
    .meta({ description: 'PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.5), with this account’s passkeys only in `allowCredentials`.' }),
});

export const webauthnSigninOptionsResponse = z.strictObject({
  challengeId: challengeIdOut,
  publicKey: z
    .record(z.string(), z.unknown())
    .meta({ description: 'PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.5) with no `allowCredentials` and `userVerification: "required"`.' }),
});

const passkey = { id: z.string().meta({ description: 'The credential id, base64url.' }), name: z.string(), createdAt: instant };

export const webauthnRegisteredResponse = z.strictObject({
  credential: z.strictObject(passkey),
  token: accessToken.optional().meta({ description: 'Present when this registration completed a first enrollment.' }),
  refreshToken: refreshToken.optional().meta({ description: 'Present when this registration completed a first enrollment.' }),
  expiresIn: expiresIn.optional(),
  authorized: z.literal(true).optional(),
  recoveryCodes: recoveryCodes.optional().meta({ description: 'Present only when this registration completed a first enrollment.' }),
});

export const webauthnCredentialsResponse = z.strictObject({
  credentials: z.array(
    z.strictObject({
      ...passkey,
      lastUsedAt: instant.nullable(),
      backedUp: z.boolean().meta({ description: 'The passkey is synced by its provider (the BS flag).' }),
      passwordless: z.boolean().meta({ description: 'Registered with user verification (UV): it signs in alone, with no username or password (POST /webauthn/signin/verify). Else a second factor only.' }),
    }),
  ),
});

/** GET /me/grants (features/oidc): the connected apps; `createdAt` and `lastUsedAt` are Unix seconds. */
export const grantsResponse = z.object({
  grants: z.array(
    z.object({
      clientId: z.string(),
      name: z.string(),
      scopes: z.array(z.string()),
      createdAt: z.number().int(),
      lastUsedAt: z.number().int().nullable(),
    }),
  ),
});
