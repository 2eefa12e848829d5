/**
 * Attack: a passkey's passwordless sign-in held at 429, beyond support's remedy.
 *
 * The story: a credential id is no secret (anyone with the password sees it in
 * /webauthn/login/options' allowCredentials, and every assertion carries it). The
 * attacker sends forged assertions under the victim's credential id to
 * POST /webauthn/signin/verify, five per lock, from one network after another, so the
 * per-credential budget (`pkcred:<SHA-256 of the id>`, on the primary: the request
 * names no account) stays locked, doubling up to an hour. The owner, who signs in with
 * that passkey alone, calls support; support's unlock said 200 but cleared only the
 * account's rows on its shard (password, code and `webauthn:<user id>` budgets), so
 * the owner's passkey still got 429. Support's lookup said `locked: false` meanwhile.
 * Unlock now clears the budget of every passkey of the account, on the primary, and
 * the lookup counts such a lock.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { passkeyUser } from '../passkeys/support';
import { freshIp, passwordlessSignin } from '../passkeys/signin-support';
import { adminCall } from '../self-service/support';

afterEach(useRealTime);

const T0 = 1_950_300_000;

async function credentialBudgets(): Promise<Array<{ key: string; failures: number; locked_until: number }>> {
  const rows = await env.DB.prepare("SELECT key, failures, locked_until FROM throttles WHERE key LIKE 'pkcred:%' AND failures > 0").all<{ key: string; failures: number; locked_until: number }>();
  return rows.results;
}

describe('support unlock clears the passwordless per-credential lock', () => {
  it('attack: forged assertions under a known credential id keep the owner’s passwordless sign-in at 429; support’s unlock lets the passkey in again', async () => {
    const owner = await passkeyUser(T0);
    const bystander = await passkeyUser(T0);
    // Five forged assertions, each from a network of its own: the credential is locked.
    for (let i = 0; i < 5; i++) {
      expect((await passwordlessSignin(owner.authenticator, owner.id, freshIp(), { tamper: true })).result.status).toBe(401);
    }
    // And one failure on another account's passkey, which support's unlock of the owner must leave alone.
    expect((await passwordlessSignin(bystander.authenticator, bystander.id, freshIp(), { tamper: true })).result.status).toBe(401);
    setNow(T0 + 1);
    const blocked = await passwordlessSignin(owner.authenticator, owner.id, freshIp());
    expect(blocked.result.status).toBe(429);
    expect(await credentialBudgets()).toHaveLength(2);

    // Support's lookup shows the lock.
    const seen = await adminCall<{ locked: boolean }>(`/admin/users?username=${encodeURIComponent(owner.username)}`);
    expect(seen.body.locked).toBe(true);
    expect((await adminCall<{ locked: boolean }>(`/admin/users?username=${encodeURIComponent(bystander.username)}`)).body.locked).toBe(false);

    const unlocked = await adminCall(`/admin/users/${owner.id}/unlock`, { json: { reason: 'owner called, identity checked' } });
    expect(unlocked.status).toBe(200);
    // Only the owner's passkey budget went; the bystander's failure still counts.
    expect(await credentialBudgets()).toEqual([expect.objectContaining({ failures: 1 })]);
    expect((await adminCall<{ locked: boolean }>(`/admin/users?username=${encodeURIComponent(owner.username)}`)).body.locked).toBe(false);

    // Within what was the lock: the owner's passkey signs in alone again.
    const after = await passwordlessSignin(owner.authenticator, owner.id, freshIp());
    expect(after.result.status).toBe(200);
  });
});
