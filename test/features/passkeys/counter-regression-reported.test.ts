/**
 * Attack: a cloned synced passkey signs in without a trace. A backup-eligible
 * credential whose counter does not advance is accepted (copies of a synced
 * passkey keep no common counter; WebAuthn L3 §6.1.1 leaves the response to the
 * RP), and src/webauthn/authenticate.ts computed `counterRegressed` "accepted
 * and reported", but nothing read it: the one signal WebAuthn gives of a cloned
 * authenticator reached no log. Now the second-factor step, step-up and the
 * passwordless sign-in each leave a `passkey_counter_regressed` line for the
 * operator; an advancing counter leaves none.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, loginUser, setNow, useRealTime } from '../../helpers';
import { assertionResponse, loginVerify, options, passkeyLogin, passkeyUser } from './support';
import { freshIp, passwordlessSignin } from './signin-support';

const T0 = 1_950_720_000;

afterEach(() => {
  useRealTime();
  vi.restoreAllMocks();
});

function regressionLines() {
  const lines: Record<string, unknown>[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.event === 'passkey_counter_regressed') lines.push(parsed);
  });
  return lines;
}

describe('an accepted counter regression (BE = 1) is told to the operator', () => {
  it('attack: a synced passkey\'s counter going back leaves passkey_counter_regressed at the second step, step-up and the passwordless sign-in', async () => {
    const user = await passkeyUser(T0, { backupEligible: true, signCount: 20 });
    const lines = regressionLines();
    setNow(T0 + 30);
    expect((await passkeyLogin(user, { signCount: 25 })).result.status).toBe(200);
    expect(lines).toEqual([]);
    const second = await passkeyLogin(user, { signCount: 3 });
    expect(second.result.status).toBe(200);
    expect(lines).toEqual([expect.objectContaining({ userId: user.id, reason: 'login' })]);

    const full = second.result.body.token as string;
    const opts = await options('login', full);
    const stepUp = await call('/reauthenticate', { token: full, json: { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(user.authenticator, user.id, opts, { signCount: 4 }) } } });
    expect(stepUp.status).toBe(200);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ userId: user.id, reason: 'reauthenticate' });

    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp(), { signCount: 5 });
    expect(result.status).toBe(200);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ userId: user.id, reason: 'signin' });
  });

  it('a device-bound passkey\'s regression is refused, not told as accepted', async () => {
    const user = await passkeyUser(T0, { signCount: 10 });
    const lines = regressionLines();
    setNow(T0 + 30);
    const { token } = await loginUser(user.username);
    const opts = await options('login', token);
    expect((await loginVerify(token, opts.challengeId, await assertionResponse(user.authenticator, user.id, opts, { signCount: 5 }))).status).toBe(401);
    expect(lines).toEqual([]);
  });
});
