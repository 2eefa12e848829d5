import { env } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importJwtKey } from '../../src/crypto/keys';
import { decodeJwtPayload, setNow, snapshot, useRealTime } from '../helpers';
import { api, enrolled, expectError, expectUnauthorized, EXPIRED_TOKEN, INVALID_TOKEN, signIn } from '../features/account/support';

/**
 * Bearer authentication as a client sees it: every refused token gets
 * 401 unauthorized with exactly `WWW-Authenticate: Bearer`, the protected
 * handler never runs (storage unchanged), and a genuine password-only token
 * is refused on /me with 403 mfa_required.
 */
const T0 = 1_800_000_000;
afterEach(useRealTime);

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A token with the real key but claims of our choosing: only the session row can refuse it. */
async function forge(claims: Record<string, unknown>, issuer = 'edge-mfa', audience = 'edge-mfa', iat = T0 + 20): Promise<string> {
  const key = await importJwtKey(env.JWT_SECRET);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .sign(key);
}

describe('refused bearer tokens', () => {
  let user: Awaited<ReturnType<typeof enrolled>>;
  let pwdToken: string;
  beforeAll(async () => {
    user = await enrolled(T0 + 10);
    pwdToken = (await signIn(user.username)).token;
    useRealTime();
  });

  async function expectRefusedEverywhere(authorization: string | undefined, presented = INVALID_TOKEN): Promise<void> {
    const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
    const before = await snapshot();
    const challenge = authorization === undefined ? 'Bearer' : presented;
    expectUnauthorized(await api('/me', { headers }), challenge);
    expectUnauthorized(await api('/create-otp', { method: 'POST', headers }), challenge);
    expectUnauthorized(await api('/qrcode', { headers }), challenge);
    expectUnauthorized(await api('/otp-verify', { headers, json: { code: '123456' } }), challenge);
    expectUnauthorized(await api('/logout', { method: 'POST', headers }), challenge);
    expect(await snapshot()).toBe(before);
  }

  it('a missing Authorization header', async () => {
    setNow(T0 + 30);
    await expectRefusedEverywhere(undefined);
  });

  it('malformed headers: another scheme, no token, the token without its scheme, trailing junk', async () => {
    setNow(T0 + 30);
    // RFC 6750 §3.1: another scheme, or none, is no bearer token at all (bare challenge); a broken one is invalid_token.
    for (const [header, challenge] of [
      [`Basic ${btoa('a:b')}`, 'Bearer'],
      [user.fullToken, 'Bearer'],
      ['Bearer', INVALID_TOKEN],
      ['Bearer ', INVALID_TOKEN],
      [`Bearer ${user.fullToken} x`, INVALID_TOKEN],
    ] as const) {
      expectUnauthorized(await api('/me', { headers: { Authorization: header } }), challenge);
    }
  });

  it('a tampered signature or payload', async () => {
    setNow(T0 + 30);
    const [header, payload, signature] = user.fullToken.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    await expectRefusedEverywhere(`Bearer ${header}.${payload}.${flipped}`);
    // The password-only token promoted to "authorized" by editing its payload.
    const [pHeader, , pSignature] = pwdToken.split('.') as [string, string, string];
    const promoted = base64url(JSON.stringify({ ...decodeJwtPayload(pwdToken), authorized: true, amr: ['pwd', 'otp'] }));
    await expectRefusedEverywhere(`Bearer ${pHeader}.${promoted}.${pSignature}`);
    // alg "none" with the signature dropped.
    const none = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    await expectRefusedEverywhere(`Bearer ${none}.${payload}.`);
  });

  it('validly signed but claiming what its session is not: another user, a second factor never passed, an unknown session, wrong iss or aud', async () => {
    setNow(T0 + 30);
    const pwdClaims = decodeJwtPayload(pwdToken);
    const fullClaims = decodeJwtPayload(user.fullToken);
    const base = { username: user.username, amr: ['pwd', 'otp'] };
    const forged = [
      await forge({ ...base, sub: user.id, sid: pwdClaims.sid, authorized: true }),
      await forge({ ...base, sub: 'someone-else', sid: fullClaims.sid, authorized: true }),
      await forge({ ...base, sub: user.id, sid: crypto.randomUUID(), authorized: true }),
      await forge({ ...base, sub: user.id, sid: fullClaims.sid, authorized: true }, 'other-issuer'),
      await forge({ ...base, sub: user.id, sid: fullClaims.sid, authorized: true }, 'edge-mfa', 'other-audience'),
    ];
    for (const token of forged) await expectRefusedEverywhere(`Bearer ${token}`);
    // Every one above claims a full session in an HS256 token, which no longer exists (full tokens are EdDSA).
    // The control: the same forging with a password-only session's true claims is accepted (as password-only),
    // and claiming the wrong user or issuer for it is refused, so those refusals are the claims'.
    const genuine = await forge({ username: user.username, amr: ['pwd'], sub: user.id, sid: pwdClaims.sid, authorized: false });
    expect((await api('/me', { token: genuine })).status).toBe(403);
    await expectRefusedEverywhere(`Bearer ${await forge({ username: user.username, amr: ['pwd'], sub: 'someone-else', sid: pwdClaims.sid, authorized: false })}`);
    await expectRefusedEverywhere(`Bearer ${await forge({ username: user.username, amr: ['pwd'], sub: user.id, sid: pwdClaims.sid, authorized: false }, 'other-issuer')}`);
  });

  it('expired: a password-only token after 5 minutes, a full token after 15 (the challenge says "expired", issue 23)', async () => {
    setNow(T0 + 10 + 300 - 1);
    expect((await api('/qrcode', { token: pwdToken })).status).not.toBe(401);
    setNow(T0 + 10 + 300);
    await expectRefusedEverywhere(`Bearer ${pwdToken}`, EXPIRED_TOKEN);
    setNow(T0 + 10 + 900 - 1);
    expect((await api('/me', { token: user.fullToken })).status).toBe(200);
    setNow(T0 + 10 + 900);
    await expectRefusedEverywhere(`Bearer ${user.fullToken}`, EXPIRED_TOKEN);
  });

  it('a genuine password-only token is refused on /me with 403 mfa_required and no challenge header', async () => {
    const fresh = await signIn(user.username);
    const before = await snapshot();
    const r = await api('/me', { token: fresh.token });
    expectError(r, 403, 'mfa_required');
    expect(r.headers.get('WWW-Authenticate')).toBeNull();
    expectError(await api('/recovery-codes', { method: 'POST', token: fresh.token }), 403, 'mfa_required');
    expectError(await api('/disable-otp', { token: fresh.token, json: { code: '123456' } }), 403, 'mfa_required');
    expect(await snapshot()).toBe(before);
  });
});
