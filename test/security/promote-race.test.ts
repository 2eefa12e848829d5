import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, setNow, totpAt, useRealTime } from '../helpers';
import { fetchWith, interleavedDb, type Execution } from './interleave';
import { T0 } from './support';

afterEach(useRealTime);

/**
 * Attack: a request with the password-only token that read its session before
 * /otp-verify promoted that session in place must not then write to the full
 * session it became. Its write is guarded by the session still being what the
 * token says (password-only), so it changes nothing.
 */
async function promoteBeforeWrite(path: string, token: string, secret: string, now: number): Promise<string> {
  let full: string | null = null;
  const db = interleavedDb(async (execution: Execution) => {
    if (full === null && execution.kind === 'batch') {
      const verified = await call<{ token: string }>('/otp-verify', { token, json: { code: await totpAt(secret, now) } });
      expect(verified.status).toBe(200);
      full = verified.body.token;
    }
  });
  await fetchWith(db, path, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  expect(full, 'the promotion was injected').not.toBeNull();
  return full!;
}

describe('a password-only request that overtakes its own promotion writes nothing to the full session', () => {
  it('/logout read the password-only session, /otp-verify promoted it, the logout batch ends nothing', async () => {
    const user = await enrolledUser(T0 + 30_000);
    const now = T0 + 30_060;
    setNow(now);
    const { token } = await loginUser(user.username);
    const full = await promoteBeforeWrite('/logout', token, user.secret, now);
    expect(decodeJwtPayload(full).sid).toBe(decodeJwtPayload(token).sid);
    const me = await call('/me', { token: full });
    expect(me.status).toBe(200);
  });
});
