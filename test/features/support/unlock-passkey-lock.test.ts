import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { loginUser, setNow, useRealTime } from '../../helpers';
import { assertionResponse, loginVerify, options, passkeyUser } from '../passkeys/support';
import { adminCall } from '../self-service/support';

afterEach(useRealTime);

const T0 = 1_950_200_000;

async function passkeyBudget(userId: string) {
  return env.DB.prepare('SELECT failures, locked_until FROM throttles WHERE key = ?').bind(`webauthn:${userId}`).first<{ failures: number; locked_until: number }>();
}

describe('support unlock clears the passkey lock', () => {
  it('attack: someone with the password keeps a passkey-only account at 429; support\'s unlock lets the real passkey in again', async () => {
    // The story: the attacker knows the password but not the passkey. Five
    // forged assertions lock the passkey step, and again after every lock, so
    // the owner (whose only factor is the passkey) is kept out. The owner calls
    // support; before the fix unlock cleared the password and code budgets but
    // left `webauthn:<user id>` in force, and the real passkey still got 429.
    const user = await passkeyUser(T0);
    setNow(T0 + 10);
    const { token } = await loginUser(user.username);
    for (let i = 0; i < 5; i++) {
      const opts = await options('login', token);
      expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts, { tamper: true }))).status).toBe(401);
    }
    let opts = await options('login', token);
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts))).status).toBe(429);
    expect(await passkeyBudget(user.id)).toMatchObject({ failures: 5 });
    // Support's lookup shows the passkey lock as a lock (it said `locked: false`).
    const seen = await adminCall<{ locked: boolean }>(`/admin/users?username=${encodeURIComponent(user.username)}`);
    expect(seen.body.locked).toBe(true);

    const unlocked = await adminCall(`/admin/users/${user.id}/unlock`, { json: { reason: 'owner called, identity checked' } });
    expect(unlocked.status).toBe(200);
    expect(await passkeyBudget(user.id)).toBeNull();
    expect((await adminCall<{ locked: boolean }>(`/admin/users?username=${encodeURIComponent(user.username)}`)).body.locked).toBe(false);

    opts = await options('login', token);
    const owner = await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts));
    expect(owner.status).toBe(200);
  });
});
