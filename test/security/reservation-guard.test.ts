import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, registerUser, setNow, snapshot, totpAt, useRealTime } from '../helpers';
import { claimsOf, sign } from './forge';
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
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
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

describe('one password-only session becomes at most one full session', () => {
  it('a revoked token with a malformed body gets 401, not 400, as on every bearer route', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const { token } = await loginUser(user.username);
    await call('/logout', { method: 'POST', token });
    for (const body of [{ code: 'abc' }, {}]) {
      const r = await verifyWith(token, body);
      expect([r.status, r.body.error]).toEqual([401, 'unauthorized']);
      expect(r.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    }
  });

  it("a token naming one user's live session and another existing user is 401 and spends nothing", async () => {
    const victim = await enrolledUser(T0);
    const other = await registerUser();
    setNow(T0 + 60);
    const { token } = await loginUser(victim.username);
    // Forged (it needs the signing key): the victim's live sid under another real user's sub.
    const forged = await sign({ ...claimsOf(token), sub: other.id });
    const before = await snapshot();
    const r = await verifyWith(forged, { code: await wrongCode(victim.secret, T0 + 60) });
    expect([r.status, r.body.error]).toEqual([401, 'unauthorized']);
    expect(await snapshot()).toBe(before);
  });

  it('two different valid codes (adjacent steps) at once on one session: exactly one 200', async () => {
    const user = await enrolledUser(T0);
    const now = T0 + 120;
    setNow(now);
    const { token } = await loginUser(user.username);
    const codes = [await totpAt(user.secret, now - 30), await totpAt(user.secret, now)];
    const results = await Promise.all(codes.map((code) => verifyWith(token, { code })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('two different recovery codes at once on one session: exactly one 200', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const { token } = await loginUser(user.username);
    const results = await Promise.all(
      user.recoveryCodes.slice(0, 2).map((recoveryCode) => verifyWith(token, { recoveryCode })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });
});
