import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, loginUser, setNow, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { addPasskey, assertionResponse, loginVerify, options } from '../passkeys/support';

afterEach(useRealTime);

const T0 = 1_950_300_000;

async function unusedCodes(userId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL').bind(userId).first<{ n: number }>();
  return row!.n;
}

describe('POST /disable-otp on an account that keeps a passkey', () => {
  it('attack on recovery: turning TOTP off no longer deletes the recovery codes that are the remaining passkey\'s fallback', async () => {
    // The story: an account with TOTP and a passkey turns TOTP off. Before the
    // fix the recovery codes went with it, silently: the passkey became the only
    // way in, and losing that device locked the owner out for good (or sent
    // them to support). The codes are kept while a passkey remains, and the
    // answer says so.
    const user = await enrolledUser(T0);
    const authenticator = await SoftwareAuthenticator.create(-7);
    expect((await addPasskey(user.fullToken, authenticator)).status).toBe(201);
    setNow(T0 + 60);
    const r = await call('/disable-otp', { token: user.fullToken, json: { password: user.password } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true, recoveryCodesKept: true });
    expect(await unusedCodes(user.id)).toBe(10);
    // A recovery code still proves the second factor at the next login.
    setNow(T0 + 90);
    const { token } = await loginUser(user.username);
    const recovered = await call('/otp-verify', { token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(recovered.status, recovered.text).toBe(200);
    // And the passkey still works.
    const next = await loginUser(user.username);
    const opts = await options('login', next.token);
    expect((await loginVerify(next.token, opts.challengeId, await assertionResponse(authenticator, user.id, opts))).status).toBe(200);
  });

  it('without a passkey the codes go with the last factor, and the answer is { ok: true }', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const r = await call('/disable-otp', { token: user.fullToken, json: { password: user.password } });
    expect(r.body).toEqual({ ok: true });
    expect(await unusedCodes(user.id)).toBe(0);
  });
});
