import { listPasskeys, removePasskey } from './credentials';
import { assertionOptions, verifyPasskey } from '../../core/second-factor/passkey';
import { registerPasskey, registrationOptions } from './register';
import { clientInfo } from '../../http/middleware/client-info';
import { callerDb, signinDbs } from '../../http/middleware/shard';
import { ipFloodFilter } from '../../http/middleware/rate-limit';
import { signInWithPasskey, signinOptions } from '../../core/passwordless/signin';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import {
  tokensResponse,
  webauthnCreationOptionsResponse,
  webauthnCredentialsResponse,
  webauthnRegisteredResponse,
  webauthnRequestOptionsResponse,
  webauthnSigninOptionsResponse,
} from '../../http/openapi/responses';
import { credentialIdParams, removePasskeyQuery, webauthnAssertionSchema, webauthnRegisterOptionsSchema, webauthnRegisterVerifySchema } from '../../http/schemas';
import { nowSeconds } from '../../core/time';

const WHO_REGISTERS =
  'Any token while the account has no second factor (a first enrollment); with one active, a full token whose factor was proven within 300 s (else `403 mfa_already_enabled` or `401 insufficient_user_authentication`).';

const registerOptionsRoute = declareRoute({
  method: 'post',
  path: '/webauthn/register/options',
  tag: 'passkeys',
  summary: 'Options to create a passkey',
  description: `${WHO_REGISTERS} The challenge is bound to this session, good once, for 5 minutes.`,
  token: 'any',
  body: webauthnRegisterOptionsSchema,
  bodyOptional: true,
  success: { status: 200, description: 'Pass `publicKey` to navigator.credentials.create().', schema: webauthnCreationOptionsResponse },
  errors: ['mfa_already_enabled', 'insufficient_user_authentication'],
});

const registerVerifyRoute = declareRoute({
  method: 'post',
  path: '/webauthn/register/verify',
  tag: 'passkeys',
  summary: 'Add the passkey the browser created',
  description: `${WHO_REGISTERS} A refused response burns the challenge. After a first enrollment the answer also carries an access and a refresh token and the recovery codes.`,
  token: 'any',
  body: webauthnRegisterVerifySchema,
  success: { status: 201, description: 'The passkey is added.', schema: webauthnRegisteredResponse },
  errors: ['mfa_already_enabled', 'invalid_code', 'insufficient_user_authentication'],
});

const loginOptionsRoute = declareRoute({
  method: 'post',
  path: '/webauthn/login/options',
  tag: 'passkeys',
  summary: 'Options to prove a passkey',
  description:
    'With the password-only token: for POST /webauthn/login/verify. With a full token: for POST /reauthenticate (step-up). Lists this account’s passkeys only.',
  token: 'any',
  bodyOptional: true,
  success: { status: 200, description: 'Pass `publicKey` to navigator.credentials.get().', schema: webauthnRequestOptionsResponse },
  errors: ['mfa_not_enrolled'],
});

const loginVerifyRoute = declareRoute({
  method: 'post',
  path: '/webauthn/login/verify',
  tag: 'passkeys',
  summary: 'The second step with a passkey; get an access and a refresh token',
  description:
    'With the password-only token. The password-only session becomes a full one (`amr: ["pwd","pop"]`); its password-only token stops working. Failed assertions have their own per-account budget: after 5 the account’s passkey step is locked for 30 s, doubling up to 1 hour.',
  token: 'any',
  session: 'flow',
  body: webauthnAssertionSchema,
  success: { status: 200, description: 'The passkey is verified.', schema: tokensResponse },
  errors: ['invalid_code', 'too_many_requests'],
});

const signinOptionsRoute = declareRoute({
  method: 'post',
  path: '/webauthn/signin/options',
  tag: 'passkeys',
  summary: 'Options to sign in with a passkey alone',
  description:
    'No token, no body, no username: `allowCredentials` is absent, so the browser offers the passkeys it holds for this site (discoverable credentials, or autofill with `mediation: "conditional"`), and `userVerification` is `required`. Nothing is stored; the challenge is good once, for 5 minutes.',
  token: 'none',
  before: [ipFloodFilter],
  bodyOptional: true,
  success: { status: 200, description: 'Pass `publicKey` to navigator.credentials.get().', schema: webauthnSigninOptionsResponse },
  errors: ['too_many_requests'],
});

const signinVerifyRoute = declareRoute({
  method: 'post',
  path: '/webauthn/signin/verify',
  tag: 'passkeys',
  summary: 'Sign in with a passkey that verified its user; get an access and a refresh token',
  description:
    'A passkey registered with user verification (`passwordless: true` in GET /webauthn/credentials), unlocked again now (the UV flag), is both factors: a new full session, `amr: ["pop","mfa"]`, `acr` `phrh` (device-bound) or `phr` (synced). Every refusal, an unknown passkey included, is the same `401 invalid_credentials`. Failures are counted per passkey (5 per lock) and per client network (20 per lock), 30 s doubling up to 1 hour; never against a password or code budget.',
  token: 'none',
  // No flood filter (unlike /login): no scrypt to protect, and its D1 work is bounded by the
  // per-network budget (a locked network gets its 429 after one batch that writes nothing).
  // In the bench, the local Rate Limiting binding serialized every request on its one key.
  body: webauthnAssertionSchema,
  success: { status: 200, description: 'Signed in.', schema: tokensResponse },
  errors: ['invalid_credentials', 'too_many_requests'],
});

const listRoute = declareRoute({
  method: 'get',
  path: '/webauthn/credentials',
  tag: 'passkeys',
  summary: 'The account’s passkeys',
  description: 'Oldest first.',
  token: 'full',
  success: { status: 200, description: 'The passkeys.', schema: webauthnCredentialsResponse },
  errors: [],
});

const removeRoute = declareRoute({
  method: 'delete',
  path: '/webauthn/credentials/{id}',
  tag: 'passkeys',
  summary: 'Remove a passkey',
  description:
    'Not this account’s: `404 not_found`. The only second factor left: `409 last_factor` (add another first). With `?endSessions=true` every other session of the account ends in the same change (sessions do not record which passkey proved them, so all others end; the caller’s stays).',
  token: 'full',
  stepUp: true,
  params: credentialIdParams,
  query: removePasskeyQuery,
  success: { status: 204, description: 'Removed; no body.' },
  errors: ['not_found', 'last_factor'],
});

/** Passkeys (WebAuthn): a second factor, and a sign-in of their own when registered with UV. */
export const webauthn = routeGroup()
  .openapi(registerOptionsRoute, async (c) => {
    const { name } = c.req.valid('json');
    const options = await registrationOptions(callerDb(c), c.get('settings'), c.get('auth'), name, nowSeconds());
    return c.json(options, 200);
  })
  .openapi(registerVerifyRoute, async (c) => {
    const body = c.req.valid('json');
    const created = await registerPasskey(callerDb(c), c.get('settings'), c.get('auth'), body, nowSeconds(), clientInfo(c));
    const { enrollment } = created;
    return c.json(
      {
        credential: created.credential,
        ...(enrollment
          ? { token: enrollment.token, refreshToken: enrollment.refreshToken, expiresIn: enrollment.expiresIn, authorized: true as const, recoveryCodes: enrollment.recoveryCodes }
          : {}),
      },
      201,
    );
  })
  .openapi(loginOptionsRoute, async (c) => {
    const options = await assertionOptions(callerDb(c), c.get('settings'), c.get('auth'), nowSeconds());
    return c.json(options, 200);
  })
  .openapi(loginVerifyRoute, async (c) => {
    const body = c.req.valid('json');
    const tokens = await verifyPasskey(callerDb(c), c.get('settings'), c.get('claims'), body, nowSeconds(), { purpose: 'login', client: clientInfo(c) });
    return c.json({ ...tokens, authorized: true as const }, 200);
  })
  .openapi(signinOptionsRoute, async (c) => {
    return c.json(await signinOptions(c.get('settings'), nowSeconds()), 200);
  })
  .openapi(signinVerifyRoute, async (c) => {
    const { tokens } = await signInWithPasskey(signinDbs(c), c.get('settings'), c.req.valid('json'), nowSeconds(), clientInfo(c));
    return c.json({ ...tokens, authorized: true as const }, 200);
  })
  .openapi(listRoute, async (c) => {
    const credentials = await listPasskeys(callerDb(c), c.get('auth'));
    return c.json({ credentials }, 200);
  })
  .openapi(removeRoute, async (c) => {
    const endSessions = c.req.valid('query').endSessions === 'true';
    await removePasskey(callerDb(c), c.get('auth'), c.req.valid('param').id, nowSeconds(), clientInfo(c), endSessions);
    return c.body(null, 204);
  });
