import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, setNow, useRealTime } from '../helpers';
import { ATTACKER_KEY, claimsOf, expectRefusedEverywhere, hmacWithHeader, sign, unsigned } from './forge';
import { T0 } from './support';

/**
 * Forged tokens, each tied to a live session so that only the forgery can
 * be the reason for the refusal. Hono's JWT middleware once accepted a token
 * whose header chose the algorithm (GHSA-f6gv-hh8j-q8vq, alg confusion); the
 * classic `alg: none` and `jku`/`jwk` key injection belong to the same family.
 */
let full: string;
let pwd: string;
let now: number;

beforeAll(async () => {
  const user = await enrolledUser(T0);
  now = T0 + 60;
  setNow(now);
  full = user.fullToken;
  pwd = (await loginUser(user.username)).token;
});
afterAll(useRealTime);

describe('a genuine token works (the control for every case below)', () => {
  it('the full token opens /me, and a password-only token re-signed here with the test secret is accepted as one', async () => {
    expect((await call('/me', { token: full })).status).toBe(200);
    // Proves the forging key is the Worker's: "signed with our own secret" cases are real.
    expect((await call('/me', { token: await sign(claimsOf(pwd)) })).body).toMatchObject({ error: 'mfa_required' });
  });

  it('the claims of the full token re-signed HS256 with our own secret are refused: a full token is EdDSA only', async () => {
    // Token confusion: the internal HS256 key must never mint an access token.
    await expectRefusedEverywhere('HS256 full', `Bearer ${await sign(claimsOf(full))}`);
  });
});

describe('forged algorithms and signatures are refused on every token route', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('alg: %s, unsigned', async (alg) => {
    await expectRefusedEverywhere(`alg ${alg}`, `Bearer ${unsigned(claimsOf(full), alg)}`);
  });

  it.each(['HS384', 'HS512'])('%s signed with our own secret', async (alg) => {
    await expectRefusedEverywhere(alg, `Bearer ${await sign(claimsOf(full), { alg })}`);
  });

  it('an RS256 header over an HMAC made with our secret (algorithm confusion)', async () => {
    await expectRefusedEverywhere('RS256', `Bearer ${await hmacWithHeader({ alg: 'RS256', typ: 'JWT' }, claimsOf(full))}`);
  });

  it('a tampered payload: a password-only token rewritten to authorized: true', async () => {
    const [header, , signature] = pwd.split('.');
    const payload = btoa(JSON.stringify({ ...claimsOf(pwd), authorized: true, amr: ['pwd', 'otp'] })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    await expectRefusedEverywhere('tampered payload', `Bearer ${header}.${payload}.${signature}`);
  });

  it('a tampered signature', async () => {
    const last = full.at(-2) === 'A' ? 'B' : 'A';
    await expectRefusedEverywhere('tampered signature', `Bearer ${full.slice(0, -2)}${last}${full.at(-1)}`);
  });

  it('signed with another key', async () => {
    await expectRefusedEverywhere('other key', `Bearer ${await sign(claimsOf(full), { key: ATTACKER_KEY })}`);
  });
});
