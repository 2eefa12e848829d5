import { generateKeyPair, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, setNow, useRealTime } from '../helpers';
import { OUR_KEY, sign } from './forge';
import { T0 } from './support';

/**
 * Issue 23: an expired token and a forged one used to answer the same words,
 * so a client could not tell "refresh now" from "this token is wrong". RFC 6750
 * §3 lets error_description say "expired" without helping an attacker: only a
 * token that passed every check but its age (our signature, pinned algorithm,
 * issuer, audience, kind) says so. Anything forged, foreign or tampered with,
 * expired or not, keeps the generic challenge and message.
 */
const EXPIRED_CHALLENGE = 'Bearer error="invalid_token", error_description="The access token expired"';
const GENERIC_CHALLENGE = 'Bearer error="invalid_token"';
const TTL = 900; // vitest.config.ts: ACCESS_TOKEN_TTL_SECONDS

let user: Awaited<ReturnType<typeof enrolledUser>>;
let pwd: string;

beforeAll(async () => {
  user = await enrolledUser(T0);
  setNow(T0 + 10);
  pwd = (await loginUser(user.username)).token;
});
afterAll(useRealTime);

async function refusal(token: string) {
  const r = await call('/me', { token });
  return { status: r.status, error: r.body.error, message: r.body.message, challenge: r.headers.get('WWW-Authenticate') };
}

describe('an expired but genuine token says "expired"', () => {
  it('a full access token one second past exp: 401 invalid_token with error_description, and a message saying what to do', async () => {
    setNow(T0 + TTL - 1);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    setNow(T0 + TTL);
    expect(await refusal(user.fullToken)).toEqual({
      status: 401,
      error: 'unauthorized',
      message: 'The access token expired: get a new one with POST /refresh, or log in again.',
      challenge: EXPIRED_CHALLENGE,
    });
  });

  it('a password-only token past its 5 minutes says the same', async () => {
    setNow(T0 + 10 + 300);
    expect(await refusal(pwd)).toMatchObject({ status: 401, error: 'unauthorized', challenge: EXPIRED_CHALLENGE });
  });
});

describe('a forged, tampered or foreign token never says "expired", expired or not', () => {
  it('the expired access token with one signature character changed', async () => {
    setNow(T0 + TTL + 5);
    const [head, body, signature] = user.fullToken.split('.') as [string, string, string];
    const flipped = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await refusal(flipped)).toEqual({ status: 401, error: 'unauthorized', message: 'A valid bearer token is required.', challenge: GENERIC_CHALLENGE });
  });

  it('the expired access token’s claims and kid, signed by an attacker’s Ed25519 key', async () => {
    setNow(T0 + TTL + 5);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const { kid } = decodeProtectedHeader(user.fullToken);
    const forged = await new SignJWT(decodeJwtPayload(user.fullToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: kid! }).sign(privateKey);
    expect(await refusal(forged)).toMatchObject({ message: 'A valid bearer token is required.', challenge: GENERIC_CHALLENGE });
  });

  it('an expired access token under a kid we never published', async () => {
    setNow(T0 + TTL + 5);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(decodeJwtPayload(user.fullToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'made-up-kid' }).sign(privateKey);
    expect(await refusal(forged)).toMatchObject({ challenge: GENERIC_CHALLENGE });
  });

  it('an expired HS256 token for the wrong issuer or audience, even under our own secret', async () => {
    setNow(T0 + 10 + 400);
    const claims = decodeJwtPayload(pwd);
    for (const changed of [{ ...claims, iss: 'someone-else' }, { ...claims, aud: 'another-service' }]) {
      expect(await refusal(await sign(changed, { key: OUR_KEY }))).toMatchObject({ challenge: GENERIC_CHALLENGE });
    }
  });

  it('an expired HS256 "full" token (the old kind, never valid now) stays unknown', async () => {
    setNow(T0 + 10 + 400);
    const claims = { ...decodeJwtPayload(pwd), authorized: true };
    expect(await refusal(await sign(claims, { key: OUR_KEY }))).toMatchObject({ challenge: GENERIC_CHALLENGE });
  });

  it('an expired HS256 token signed with another secret', async () => {
    setNow(T0 + 10 + 400);
    const forged = await sign(decodeJwtPayload(pwd), { key: new TextEncoder().encode('attacker-secret-0123456789abcdef0123456789abcdef') });
    expect(await refusal(forged)).toMatchObject({ message: 'A valid bearer token is required.', challenge: GENERIC_CHALLENGE });
  });
});
