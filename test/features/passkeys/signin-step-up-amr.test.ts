/**
 * Attack (a claim, not a break-in): a session opened by a passkey alone (amr
 * ["pop","mfa"], no password typed) was stepped up with /reauthenticate, and
 * the renewed session's tokens said amr ["pwd","pop"] or ["pwd","rec"]: a
 * password that nobody entered. A relying party that reads `amr` (RFC 8176: the
 * methods used) to decide "the person typed their password recently" was told
 * so. The renewal of such a session names the factor it proved alone; a
 * password session's renewal keeps ["pwd", factor] as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, setNow, useRealTime } from '../../helpers';
import { assertionResponse, options, passkeyUser } from './support';
import { freshIp, passwordlessSignin } from './signin-support';

afterEach(useRealTime);

const T0 = 1_950_930_000;

type Tokens = { token: string };

describe('a step-up in a session opened by a passkey alone never claims a password', () => {
  it('attack: /reauthenticate by passkey or by recovery code after a passwordless sign-in records amr ["pop"] or ["rec"], not ["pwd", …], in the token and in GET /sessions', async () => {
    const user = await passkeyUser(T0);
    setNow(T0 + 30);
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    const signedIn = result.body.token as string;
    expect(decodeJwtPayload(signedIn).amr).toEqual(['pop', 'mfa']);

    setNow(T0 + 60);
    const opts = await options('login', signedIn);
    const byPasskey = await call<Tokens>('/reauthenticate', { token: signedIn, json: { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(user.authenticator, user.id, opts) } } });
    expect(byPasskey.status, byPasskey.text).toBe(200);
    expect(decodeJwtPayload(byPasskey.body.token).amr).toEqual(['pop']);

    setNow(T0 + 90);
    const byRecovery = await call<Tokens>('/reauthenticate', { token: byPasskey.body.token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(byRecovery.status, byRecovery.text).toBe(200);
    const payload = decodeJwtPayload(byRecovery.body.token);
    expect(payload.amr).toEqual(['rec']);
    expect(payload.acr).toBe('aal2');
    const listed = await call<{ sessions: { current: boolean; amr: string[] }[] }>('/sessions', { token: byRecovery.body.token });
    expect(listed.body.sessions.find((session) => session.current)!.amr).toEqual(['rec']);
  });

  it('a password session\'s step-up keeps ["pwd", factor]', async () => {
    const user = await passkeyUser(T0 + 1_000);
    const opts = await options('login', user.fullToken);
    setNow(T0 + 1_030);
    const byPasskey = await call<Tokens>('/reauthenticate', { token: user.fullToken, json: { webauthn: { challengeId: opts.challengeId, response: await assertionResponse(user.authenticator, user.id, opts) } } });
    expect(byPasskey.status, byPasskey.text).toBe(200);
    expect(decodeJwtPayload(byPasskey.body.token).amr).toEqual(['pwd', 'pop']);
  });
});
