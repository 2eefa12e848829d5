import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, registerUser, setNow, snapshot, useRealTime } from '../helpers';
import { T0, throttleRow, verifyWith, wrongCode } from './support';

afterEach(useRealTime);

/**
 * /otp-verify reserves the attempt in the same D1 batch that reads the
 * session, guarded by that session being live and having a secret to check.
 * A lockout-by-proxy attack would replay a stolen, already revoked token to
 * burn the owner's code budget; a request answered 409 would count a guess
 * against an account with nothing to guess. Neither may touch the throttle.
 */
describe('the code budget is spent only by a live session with something to check', () => {
  it('a revoked token sending wrong codes gets 401 and spends nothing', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const { token } = await loginUser(user.username);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(204);
    const before = await snapshot();
    const wrong = await wrongCode(user.secret, T0 + 60);
    for (let i = 0; i < 6; i++) {
      const r = await verifyWith(token, { code: wrong });
      expect(r.status).toBe(401);
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer');
    }
    const r = await verifyWith(token, { recoveryCode: 'AAAAA-BBBBB' });
    expect(r.status).toBe(401);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
    expect(await snapshot()).toBe(before);
  });

  it('409 mfa_not_enrolled (no secret at all) spends nothing', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    const before = await snapshot();
    for (const body of [{ code: '123456' }, { recoveryCode: 'AAAAA-BBBBB' }]) {
      const r = await verifyWith(token, body);
      expect([r.status, r.body.error]).toEqual([409, 'mfa_not_enrolled']);
    }
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
    expect(await snapshot()).toBe(before);
  });
});
