import { Hono } from 'hono';
import { pendingEnrollment, startEnrollment } from '../auth/enroll';
import { disableMfa, regenerateRecoveryCodes } from '../auth/manage';
import { qrSvg, svgDataUrl } from '../auth/qr';
import { verifySecondFactor } from '../auth/verify';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';
import { liveSessionQuery, requireAuth, requireBearer, toAuthContext } from '../middleware/auth';
import { parseBody } from '../middleware/body';
import { disableOtpSchema, otpVerifySchema } from '../schemas';
import { nowSeconds } from '../time';

/** Enrollment, the second-factor step and the MFA lifecycle. */
export const mfa = new Hono<AppEnv>()
  .post('/create-otp', requireAuth('any'), async (c) => {
    const enrollment = await startEnrollment(getDb(c.env.DB), c.get('settings'), c.get('auth'), nowSeconds());
    return c.json({ ok: true as const, secret: enrollment.secret, uri: enrollment.uri }, 201);
  })
  .get('/qrcode', requireAuth('any'), async (c) => {
    const { uri } = await pendingEnrollment(c.get('settings'), c.get('auth'), nowSeconds());
    const svg = qrSvg(uri);
    c.header('Vary', 'Accept');
    if (/\bimage\/svg\+xml\b/.test(c.req.header('Accept') ?? '')) {
      return c.body(svg, 200, { 'Content-Type': 'image/svg+xml; charset=utf-8' });
    }
    return c.json({ imageUrl: svgDataUrl(svg), uri }, 200);
  })
  // Bearer-only middleware: the flow reads the session in the same D1 batch
  // that reserves the attempt (see verifySecondFactor).
  .post('/otp-verify', requireBearer, async (c) => {
    const db = getDb(c.env.DB);
    const now = nowSeconds();
    const claims = c.get('claims');
    let body;
    try {
      body = parseBody(c, otpVerifySchema);
    } catch (error) {
      // As on every bearer route, a dead session gets 401 before a bad body gets 400.
      const [row] = await liveSessionQuery(db, claims, now);
      toAuthContext(row, claims, 'any');
      throw error;
    }
    const code = body.code ?? body.token;
    const proof = code !== undefined ? { code } : { recoveryCode: body.recoveryCode! };
    const result = await verifySecondFactor(db, c.get('settings'), claims, proof, now);
    return c.json({ token: result.token, authorized: true as const, expiresIn: result.expiresIn, ...(result.recoveryCodes ? { recoveryCodes: result.recoveryCodes } : {}) }, 200);
  })
  .post('/recovery-codes', requireAuth('full'), async (c) => {
    const codes = await regenerateRecoveryCodes(getDb(c.env.DB), c.get('settings'), c.get('auth'), nowSeconds());
    return c.json({ recoveryCodes: codes }, 201);
  })
  .post('/disable-otp', requireAuth('full'), async (c) => {
    const body = parseBody(c, disableOtpSchema);
    const proof = body.code !== undefined ? { code: body.code } : { password: body.password! };
    await disableMfa(getDb(c.env.DB), c.get('settings'), c.get('auth'), proof, nowSeconds());
    return c.json({ ok: true as const }, 200);
  });
