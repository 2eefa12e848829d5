import { env } from 'cloudflare:test';
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { getSettings } from '../../src/settings';
import { signAccessToken, verifyAccessToken, type NewAccessToken } from '../../src/tokens/access-token';
import { signToken, verifyToken } from '../../src/tokens/jwt';
import { currentSigningKey } from '../../src/tokens/signing-keys';
import { verifyAnyToken } from '../../src/tokens/verify-any';
import { clearKeys, DAY, isolate, T0, tokenSettings } from './support';

beforeEach(clearKeys);

const NEW: NewAccessToken = {
  sub: 'user-1',
  username: 'alice',
  sid: 'session-1',
  amr: ['pwd', 'otp'],
  authTimeSeconds: T0 - 10,
  sessionEndsAtSeconds: T0 + DAY,
};

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

async function setup() {
  const db = isolate();
  const settings = await tokenSettings();
  const issued = await signAccessToken(db, settings, NEW, T0);
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(issued.token.split('.')[1]!))) as JWTPayload;
  const ours = await currentSigningKey(db, settings, T0);
  /** Signs `claims` with OUR real private key and the given header: only the header or claims are wrong. */
  const withOurKey = (claims: JWTPayload, header: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(ours.key);
  return { db, settings, issued, payload, withOurKey, kid: issued.kid };
}

describe('access tokens (RFC 9068) signed with the service key', () => {
  it('carry the header and claims of API.md', async () => {
    const { db, settings, issued, payload } = await setup();
    expect(decodeProtectedHeader(issued.token)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: issued.kid });
    expect(payload).toEqual({
      iss: env.ISSUER,
      aud: env.ISSUER,
      sub: 'user-1',
      sid: 'session-1',
      jti: issued.jti,
      iat: T0,
      exp: T0 + 300,
      auth_time: T0 - 10,
      acr: 'aal2',
      amr: ['pwd', 'otp'],
      username: 'alice',
      authorized: true,
    });
    expect(await verifyAccessToken(db, settings, issued.token, T0 + 299)).toEqual(payload);
  });

  it('never outlive the session: exp is the session end when that comes first', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    const issued = await signAccessToken(db, settings, { ...NEW, sessionEndsAtSeconds: T0 + 42 }, T0);
    expect([issued.exp, issued.expiresIn]).toEqual([T0 + 42, 42]);
    expect(await verifyAccessToken(db, settings, issued.token, T0 + 41)).not.toBeNull();
    expect(await verifyAccessToken(db, settings, issued.token, T0 + 42)).toBeNull();
    await expect(signAccessToken(db, settings, { ...NEW, sessionEndsAtSeconds: T0 }, T0)).rejects.toThrow();
  });

  it('use the configured audience, and the default audience is the issuer', async () => {
    const db = isolate();
    const settings = await tokenSettings({ audience: 'https://api.example' });
    const issued = await signAccessToken(db, settings, NEW, T0);
    expect(await verifyAccessToken(db, settings, issued.token, T0 + 1)).toMatchObject({ aud: 'https://api.example' });
    // Attack: a token minted for one audience replayed at another.
    expect(await verifyAccessToken(db, await tokenSettings(), issued.token, T0 + 1)).toBeNull();
  });
});

describe('acr: what the session proved (issue 21)', () => {
  it('a passwordless sign-in’s phrh or phr is carried and verifies; aal2 is the default', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    for (const acr of ['phrh', 'phr', 'aal2'] as const) {
      const issued = await signAccessToken(db, settings, { ...NEW, amr: ['pop', 'mfa'], acr }, T0);
      expect(await verifyAccessToken(db, settings, issued.token, T0 + 1)).toMatchObject({ acr, amr: ['pop', 'mfa'] });
    }
  });

  it('an acr we never issue is refused, even under our key', async () => {
    const { db, settings, payload, withOurKey, kid } = await setup();
    // Attack: a token claiming a level (or a type) no session of ours records.
    for (const acr of ['aal3', 'phrh ', 1, null]) {
      expect(await verifyAccessToken(db, settings, await withOurKey({ ...payload, acr }, { typ: 'at+jwt', kid }), T0 + 1)).toBeNull();
    }
  });
});

describe('token confusion and forgery are refused', () => {
  it('another issuer or audience, even with a genuine signature', async () => {
    const { db, settings, payload, withOurKey, kid } = await setup();
    expect(await verifyAccessToken(db, settings, await withOurKey(payload, { typ: 'at+jwt', kid }), T0 + 1)).not.toBeNull();
    for (const wrong of [{ iss: 'evil' }, { aud: 'another-service' }, { aud: ['another-service'] }]) {
      expect(await verifyAccessToken(db, settings, await withOurKey({ ...payload, ...wrong }, { typ: 'at+jwt', kid }), T0 + 1)).toBeNull();
    }
  });

  it('expired, issued in the future, or living longer than the 3600 s bound', async () => {
    const { db, settings, issued, payload, withOurKey, kid } = await setup();
    expect(await verifyAccessToken(db, settings, issued.token, issued.exp)).toBeNull();
    expect(await verifyAccessToken(db, settings, issued.token, T0 + DAY)).toBeNull();
    const future = await withOurKey({ ...payload, iat: T0 + 600, exp: T0 + 900 }, { typ: 'at+jwt', kid });
    expect(await verifyAccessToken(db, settings, future, T0 + 1)).toBeNull();
    const tooLong = await withOurKey({ ...payload, exp: T0 + 3601 }, { typ: 'at+jwt', kid });
    expect(await verifyAccessToken(db, settings, tooLong, T0 + 1)).toBeNull();
  });

  it('typ JWT (or none) instead of at+jwt, with a genuine signature: RFC 9068 §4 explicit typing', async () => {
    // Attack: another JWT our key signed for another purpose presented as an access token.
    const { db, settings, payload, withOurKey, kid } = await setup();
    for (const header of [{ typ: 'JWT', kid }, { kid }, { typ: 'application/jwt', kid }]) {
      expect(await verifyAccessToken(db, settings, await withOurKey(payload, header), T0 + 1)).toBeNull();
    }
  });

  it('missing claims that make it an access token: auth_time, acr, authorized', async () => {
    const { db, settings, payload, withOurKey, kid } = await setup();
    for (const name of ['auth_time', 'acr', 'authorized', 'sid', 'jti']) {
      const { [name]: _dropped, ...rest } = payload;
      expect(await verifyAccessToken(db, settings, await withOurKey(rest, { typ: 'at+jwt', kid }), T0 + 1)).toBeNull();
    }
    const partial = await withOurKey({ ...payload, authorized: false }, { typ: 'at+jwt', kid });
    expect(await verifyAccessToken(db, settings, partial, T0 + 1)).toBeNull();
  });

  it('HS256 signed with the public key (algorithm confusion, RFC 8725 §2.1)', async () => {
    // Attack: the JWKS is public; a verifier that let the header pick HMAC would take x as the HMAC secret.
    const { db, settings, payload, kid } = await setup();
    const jwk = (await (await import('../../src/tokens/jwks')).jwks(db, T0)).document.keys[0]!;
    const secrets = [base64url.decode(jwk.x), new TextEncoder().encode(jwk.x), new TextEncoder().encode(JSON.stringify(jwk))];
    for (const secret of secrets) {
      for (const typ of ['at+jwt', 'JWT']) {
        const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ, kid }).sign(secret);
        expect(await verifyAccessToken(db, settings, forged, T0 + 1)).toBeNull();
        expect(await verifyAnyToken(db, { ...(await getSettings(env)), ...settings }, forged, T0 + 1)).toBeNull();
      }
    }
  });

  it('alg none in any spelling, and a stripped signature', async () => {
    const { db, settings, issued, payload, kid } = await setup();
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const unsigned = `${enc({ alg, typ: 'at+jwt', kid })}.${enc(payload)}.`;
      expect(await verifyAccessToken(db, settings, unsigned, T0 + 1)).toBeNull();
    }
    const [header, body] = issued.token.split('.');
    expect(await verifyAccessToken(db, settings, `${header}.${body}.`, T0 + 1)).toBeNull();
  });

  it('EdDSA signed by an attacker key named in jku, jwk or x5u, with the attacker kid or ours', async () => {
    // Attack: a verifier that trusts a key the token itself supplies accepts anything (CVE-2018-0114 for jwk).
    const { db, settings, payload, kid } = await setup();
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    const attackerKid = await calculateJwkThumbprint(attackerJwk);
    const headers = [
      { jwk: attackerJwk, kid: attackerKid },
      { jwk: attackerJwk, kid },
      { jku: 'https://attacker.example/jwks.json', kid: attackerKid },
      { jku: 'https://attacker.example/jwks.json', kid },
      { x5u: 'https://attacker.example/cert.pem', kid },
      { kid: attackerKid },
      { kid },
    ];
    for (const header of headers) {
      const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...header }).sign(attacker.privateKey);
      expect(await verifyAccessToken(db, settings, forged, T0 + 1)).toBeNull();
    }
  });

  it('a genuine token with a jku/jwk header added is refused too: we never set them', async () => {
    const { db, settings, payload, withOurKey, kid } = await setup();
    const withJku = await withOurKey(payload, { typ: 'at+jwt', kid, jku: 'https://attacker.example/jwks.json' });
    expect(await verifyAccessToken(db, settings, withJku, T0 + 1)).toBeNull();
  });

  it('a missing or unknown kid', async () => {
    const { db, settings, payload, withOurKey } = await setup();
    expect(await verifyAccessToken(db, settings, await withOurKey(payload, { typ: 'at+jwt' }), T0 + 1)).toBeNull();
    expect(await verifyAccessToken(db, settings, await withOurKey(payload, { typ: 'at+jwt', kid: 'nope' }), T0 + 1)).toBeNull();
  });

  it('a password-only HS256 token is never an access token, and an access token never passes the HS256 verifier', async () => {
    const { db, settings, issued } = await setup();
    const app = await getSettings(env);
    const passwordOnly = await signToken(app, { sub: 'user-1', username: 'alice', sid: 'session-1', authorized: false, amr: ['pwd'] }, T0, 300);
    const oldFull = await signToken(app, { sub: 'user-1', username: 'alice', sid: 'session-1', authorized: true, amr: ['pwd', 'otp'] }, T0, 300);
    expect(await verifyToken(app, passwordOnly, T0 + 1)).not.toBeNull();
    expect(await verifyAccessToken(db, settings, passwordOnly, T0 + 1)).toBeNull();
    expect(await verifyAccessToken(db, settings, oldFull, T0 + 1)).toBeNull();
    expect(await verifyToken(app, issued.token, T0 + 1)).toBeNull();
    // The dispatcher: each kind only through its own verifier; an HS256 full token no longer counts.
    const both = { ...app, ...settings };
    expect(await verifyAnyToken(db, both, issued.token, T0 + 1)).toMatchObject({ kind: 'access', claims: { sid: 'session-1' } });
    expect(await verifyAnyToken(db, both, passwordOnly, T0 + 1)).toMatchObject({ kind: 'password-only', claims: { authorized: false } });
    expect(await verifyAnyToken(db, both, oldFull, T0 + 1)).toBeNull();
    expect(await verifyAnyToken(db, both, 'not a token', T0 + 1)).toBeNull();
  });
});
