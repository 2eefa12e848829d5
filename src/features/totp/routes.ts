import { pendingEnrollment, startEnrollment } from '../../core/second-factor/enroll';
import { disableMfa, regenerateRecoveryCodes } from './manage';
import { qrSvg, svgDataUrl } from '../../core/second-factor/qr';
import { verifySecondFactor } from '../../core/second-factor/code';
import { negotiate } from '../../http/accept';
import { clientInfo } from '../../http/middleware/client-info';
import { callerDb } from '../../http/middleware/shard';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { createOtpResponse, disableOtpResponse, otpVerifyResponse, qrcodeResponse, recoveryCodesResponse } from '../../http/openapi/responses';
import { disableOtpSchema, otpVerifySchema } from '../../http/schemas';
import { nowSeconds } from '../../core/time';

const createOtpRoute = declareRoute({
  method: 'post',
  path: '/create-otp',
  tag: 'mfa',
  summary: 'Start a TOTP enrollment',
  description:
    'Makes a pending secret; only `/otp-verify` with a code from it makes it active. With a full token (and a second factor proven within 5 minutes) it starts a re-enrollment, and the old secret stays in force until the new one is confirmed.',
  token: 'any',
  success: { status: 201, description: 'A pending secret was made.', schema: createOtpResponse },
  errors: ['mfa_already_enabled', 'insufficient_user_authentication'],
});

const qrcodeRoute = declareRoute({
  method: 'get',
  path: '/qrcode',
  tag: 'mfa',
  summary: 'The pending secret as a QR code',
  description: 'With `Accept: image/svg+xml` the SVG itself. Shows only a pending secret; an active secret is never shown again.',
  token: 'any',
  success: {
    status: 200,
    description: 'The QR code of the pending secret.',
    schema: qrcodeResponse,
    other: { 'image/svg+xml': { type: 'string' } },
  },
  errors: ['mfa_already_enabled', 'no_pending_enrollment'],
});

const otpVerifyRoute = declareRoute({
  method: 'post',
  path: '/otp-verify',
  tag: 'mfa',
  summary: 'Verify a TOTP code or a recovery code; get an access and a refresh token',
  description:
    'Send exactly one of `code`, `token` (the original name of `code`) or `recoveryCode`. Codes are 6 digits (blanks ignored), accepted one 30 s step before or after now, never twice. After 5 consecutive failures the account is locked for 30 s, doubling up to 1 hour.',
  token: 'any',
  // The flow reads the session in the same D1 batch that reserves the attempt.
  session: 'flow',
  body: otpVerifySchema,
  success: { status: 200, description: 'The second factor is verified.', schema: otpVerifyResponse },
  errors: ['invalid_code', 'factor_locked', 'no_pending_enrollment', 'mfa_not_enrolled', 'too_many_requests'],
});

const recoveryCodesRoute = declareRoute({
  method: 'post',
  path: '/recovery-codes',
  tag: 'mfa',
  summary: 'Replace the recovery codes',
  description: 'The old set stops working.',
  token: 'full',
  stepUp: true,
  success: { status: 201, description: 'A new set of ten.', schema: recoveryCodesResponse },
  errors: ['mfa_not_enrolled'],
});

const disableOtpRoute = declareRoute({
  method: 'post',
  path: '/disable-otp',
  tag: 'mfa',
  summary: 'Turn two-factor authentication off',
  description:
    'Needs the current code or the password. Every session of the user is revoked. With no passkey left the recovery codes go too and the next login asks to enroll again; while a passkey remains they are kept as its fallback and the answer says `recoveryCodesKept: true`.',
  token: 'full',
  stepUp: true,
  body: disableOtpSchema,
  success: { status: 200, description: 'TOTP is off.', schema: disableOtpResponse },
  errors: ['invalid_code', 'invalid_credentials', 'factor_locked', 'mfa_not_enrolled', 'too_many_requests'],
});


/** Enrollment, the second-factor step and the MFA lifecycle. */
export const mfa = routeGroup()
  .openapi(createOtpRoute, async (c) => {
    const enrollment = await startEnrollment(callerDb(c), c.get('settings'), c.get('auth'), nowSeconds(), clientInfo(c));
    return c.json({ ok: true as const, secret: enrollment.secret, uri: enrollment.uri }, 201);
  })
  .openapi(qrcodeRoute, async (c) => {
    const { uri } = await pendingEnrollment(c.get('settings'), c.get('auth'), nowSeconds());
    const svg = qrSvg(uri);
    c.header('Vary', 'Accept');
    if (negotiate(c.req.header('Accept'), ['application/json', 'image/svg+xml']) === 'image/svg+xml') {
      return c.body(svg, 200, { 'Content-Type': 'image/svg+xml; charset=utf-8' });
    }
    return c.json({ imageUrl: svgDataUrl(svg), uri }, 200);
  })
  .openapi(otpVerifyRoute, async (c) => {
    const body = c.req.valid('json');
    const code = body.code ?? body.token;
    const proof = code !== undefined ? { code } : { recoveryCode: body.recoveryCode! };
    const result = await verifySecondFactor(callerDb(c), c.get('settings'), c.get('claims'), proof, nowSeconds(), { client: clientInfo(c) });
    return c.json(
      {
        token: result.token,
        refreshToken: result.refreshToken,
        authorized: true as const,
        expiresIn: result.expiresIn,
        ...(result.recoveryCodes ? { recoveryCodes: result.recoveryCodes } : {}),
      },
      200,
    );
  })
  .openapi(recoveryCodesRoute, async (c) => {
    const codes = await regenerateRecoveryCodes(callerDb(c), c.get('settings'), c.get('auth'), nowSeconds(), clientInfo(c));
    return c.json({ recoveryCodes: codes }, 201);
  })
  .openapi(disableOtpRoute, async (c) => {
    const body = c.req.valid('json');
    const proof = body.code !== undefined ? { code: body.code } : { password: body.password! };
    const { recoveryCodesKept } = await disableMfa(callerDb(c), c.get('settings'), c.get('auth'), proof, nowSeconds(), clientInfo(c));
    const answer: { ok: true; recoveryCodesKept?: true } = recoveryCodesKept ? { ok: true, recoveryCodesKept: true } : { ok: true };
    return c.json(answer, 200);
  });
