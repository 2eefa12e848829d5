import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, setNow, useRealTime } from '../helpers';
import { claimsOf, expectRefusedEverywhere, sign } from './forge';
import { T0 } from './support';

/**
 * Claims forged on a token signed with the Worker's own secret (as if the key
 * leaked, or a signing bug let one through): each must still be refused, on
 * every token route, with storage unchanged. The control re-signs the genuine
 * claims and must be accepted, so each refusal is due to the one change. The
 * HS256 token is the password-only one (a full token is EdDSA only: re-signing
 * its claims with the HS256 secret is refused, see hostile-tokens-forged).
 */
let full: string;
let now: number;

beforeAll(async () => {
  const user = await enrolledUser(T0);
  now = T0 + 60;
  setNow(now);
  full = (await loginUser(user.username)).token;
});
afterAll(useRealTime);

it('control: the genuine claims re-signed with the test secret are a valid password-only token (403 on /me, not 401)', async () => {
  expect((await call('/me', { token: await sign(claimsOf(full)) })).body).toMatchObject({ error: 'mfa_required' });
});

describe('claims: exp, nbf, iat, iss and aud are checked', () => {
  const variants: [string, (c: Record<string, unknown>) => Record<string, unknown>][] = [
    ['missing exp', ({ exp: _exp, ...rest }) => rest],
    ['exp in the past', (c) => ({ ...c, exp: now - 1 })],
    ['exp as a string', (c) => ({ ...c, exp: String(now + 600) })],
    ['nbf in the future', (c) => ({ ...c, nbf: now + 600 })],
    ['iat in the future', (c) => ({ ...c, iat: now + 600, exp: now + 1200 })],
    ['iat older than the longest lifetime', (c) => ({ ...c, iat: now - 3600, exp: now + 600 })],
    ['missing iat', ({ iat: _iat, ...rest }) => rest],
    ['wrong iss', (c) => ({ ...c, iss: 'someone-else' })],
    ['missing iss', ({ iss: _iss, ...rest }) => rest],
    ['wrong aud', (c) => ({ ...c, aud: 'another-service' })],
    ['missing aud', ({ aud: _aud, ...rest }) => rest],
    ['another user as sub', (c) => ({ ...c, sub: crypto.randomUUID() })],
    ['a session id that does not exist', (c) => ({ ...c, sid: crypto.randomUUID() })],
    ['authorized as a string', (c) => ({ ...c, authorized: 'true' })],
  ];
  // Signed with our own key, a token past its exp (or older than any lifetime) is, as far as the
  // Worker can tell, one of its own that expired: the challenge says so (issue 23). Still refused.
  const EXPIRED = new Set(['exp in the past', 'iat older than the longest lifetime']);
  it.each(variants)('%s, signed with our own secret', async (label, change) => {
    const challenge = EXPIRED.has(label) ? 'Bearer error="invalid_token", error_description="The access token expired"' : undefined;
    await expectRefusedEverywhere(label, `Bearer ${await sign(change(claimsOf(full) as Record<string, unknown>))}`, challenge);
  });
});
