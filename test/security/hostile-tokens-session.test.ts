import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/index';
import { call, enrolledUser, loginUser, PASSWORD, setNow, snapshot, useRealTime } from '../helpers';
import { ATTACKER_KEY, claimsOf, expectRefusedEverywhere, sign } from './forge';
import { T0 } from './support';

let user: Awaited<ReturnType<typeof enrolledUser>>;
let pwd: string;
const now = T0 + 60;

beforeAll(async () => {
  user = await enrolledUser(T0);
  setNow(now);
  pwd = (await loginUser(user.username)).token;
});
afterAll(useRealTime);

describe('malformed bearer credentials', () => {
  const cases: [string, () => string][] = [
    ['two parts', () => `Bearer ${user.fullToken.split('.').slice(0, 2).join('.')}`],
    ['four parts', () => `Bearer ${user.fullToken}.${user.fullToken.split('.')[2]}`],
    ['five parts (a JWE shape)', () => `Bearer ${user.fullToken}.AAAA.BBBB`],
    ['a 100 KB token', () => `Bearer ${user.fullToken.split('.')[0]}.${'A'.repeat(100 * 1024)}.${user.fullToken.split('.')[2]}`],
    ['an empty bearer', () => 'Bearer '],
    ['another scheme', () => `Basic ${btoa(`${user.username}:${PASSWORD}`)}`],
    ['the token without a scheme', () => user.fullToken],
    ['two tokens', () => `Bearer ${user.fullToken} ${user.fullToken}`],
    ['a token with a NUL byte', () => `Bearer ${user.fullToken.slice(0, 10)}%00${user.fullToken.slice(10)}`],
    ['garbage', () => 'Bearer !!!.???.***'],
  ];
  it.each(cases)('%s → 401 everywhere, nothing stored', async (label, header) => {
    await expectRefusedEverywhere(label, header());
  });
});

/**
 * jku/jwk/x5u key injection: a verifier that fetches or trusts the key named
 * in the header verifies the attacker's signature with the attacker's key.
 * Ours always uses its own key and fetches nothing.
 */
describe('jku, jwk and kid headers', () => {
  it('an attacker-signed token naming its own key is refused, and nothing is fetched', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = await exportJWK(publicKey);
    const claims = claimsOf(user.fullToken);
    const forged = [
      await sign(claims, { key: ATTACKER_KEY, header: { jku: 'https://attacker.example/jwks.json', kid: 'attacker' } }),
      await sign(claims, { key: ATTACKER_KEY, header: { kid: '../../../../dev/null' } }),
      await sign(claims, { key: ATTACKER_KEY, header: { x5u: 'https://attacker.example/cert.pem' } }),
      // An embedded public key with a matching RS256 signature.
      await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', jwk, typ: 'JWT' }).sign(privateKey),
      // The HMAC key itself offered in the header as an `oct` JWK.
      await sign(claims, { key: ATTACKER_KEY, header: { jwk: { kty: 'oct', k: base64url.encode(ATTACKER_KEY) } } }),
    ];
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      const before = await snapshot();
      for (const token of forged) {
        // Through the app in this isolate, so the spy sees any fetch it makes.
        const ctx = createExecutionContext();
        const response = await app.fetch(new Request('https://mfa.test/me', { headers: { Authorization: `Bearer ${token}` } }), env, ctx);
        await waitOnExecutionContext(ctx);
        expect(response.status).toBe(401);
        expect(response.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
        await expectRefusedEverywhere('key injection', `Bearer ${token}`);
      }
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(await snapshot()).toBe(before);
    } finally {
      fetchSpy.mockRestore();
    }
  });
});

/**
 * CoPilot GHSA-5m69-7h2p-6qfw: the token from the password step was accepted
 * as a full session, so the second factor could be skipped.
 */
describe('a password-only token is not a session', () => {
  it('gets 403 mfa_required on every full-token route, and changes nothing', async () => {
    const before = await snapshot();
    for (const [method, path, json] of [
      ['GET', '/me', undefined],
      ['POST', '/recovery-codes', undefined],
      ['POST', '/disable-otp', { password: PASSWORD }],
    ] as const) {
      const r = await call(path, { method, json, token: pwd });
      expect([path, r.status, r.body.error]).toEqual([path, 403, 'mfa_required']);
    }
    // With MFA active it may not start a new enrollment or see a QR code either.
    for (const [method, path] of [['POST', '/create-otp'], ['GET', '/qrcode']] as const) {
      const r = await call(path, { method, token: pwd });
      expect([path, r.status, r.body.error]).toEqual([path, 403, 'mfa_already_enabled']);
    }
    expect(await snapshot()).toBe(before);
  });

  it('re-signed with authorized: true and amr otp (as if the key leaked), it is still refused: the session row decides', async () => {
    const forged = await sign({ ...claimsOf(pwd), authorized: true, amr: ['pwd', 'otp'] });
    await expectRefusedEverywhere('pwd token claiming authorized', `Bearer ${forged}`);
  });
});

describe('revoked and expired tokens', () => {
  it('a token after logout is 401 on every route, and so is every token after logout all', async () => {
    setNow(now);
    const other = (await loginUser(user.username)).token;
    expect((await call('/logout', { method: 'POST', token: other })).status).toBe(204);
    await expectRefusedEverywhere('after logout', `Bearer ${other}`);

    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    expect((await call('/logout', { method: 'POST', token: user.fullToken, json: { all: true } })).status).toBe(204);
    await expectRefusedEverywhere('full token after logout all', `Bearer ${user.fullToken}`);
    await expectRefusedEverywhere('password token after logout all', `Bearer ${pwd}`);
  });

  it('a genuine token past its exp is 401, and the challenge says it expired (issue 23)', async () => {
    const fresh = await enrolledUser(T0 + 5000);
    setNow(T0 + 5000 + 900);
    await expectRefusedEverywhere('expired full token', `Bearer ${fresh.fullToken}`, 'Bearer error="invalid_token", error_description="The access token expired"');
  });
});
