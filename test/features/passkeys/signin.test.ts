/**
 * Passwordless sign-in (issue 21): a discoverable passkey that verifies its user (UV)
 * signs a person in with no username or password, as both factors.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, setNow, useRealTime } from '../../helpers';
import { passkeyUser } from './support';
import { freshIp, liveFullSessions, passwordlessSignin, signinOptions } from './signin-support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

describe('POST /webauthn/signin/options and /verify', () => {
  it('options name no credential and require UV; verify opens a full session as pop + mfa, phrh when device-bound', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    expect(opts.publicKey).not.toHaveProperty('allowCredentials');
    expect(opts.publicKey.userVerification).toBe('required');
    expect(opts.publicKey.rpId).toBe('mfa.test');
    const before = await liveFullSessions(user.id);
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    expect(result.body.authorized).toBe(true);
    const claims = decodeJwtPayload(result.body.token);
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['pop', 'mfa']);
    expect(claims.acr).toBe('phrh');
    expect(await liveFullSessions(user.id)).toBe(before + 1);
    const row = await env.DB.prepare('SELECT amr, acr FROM sessions WHERE id = ?').bind(claims.sid).first();
    expect(row).toEqual({ amr: 'pop mfa', acr: 'phrh' });
    expect((await call('/me', { token: result.body.token })).status).toBe(200);
    const events = await call<{ events: { type: string; sessionId: string }[] }>('/me/security-events', { token: result.body.token });
    expect(events.body.events[0]).toMatchObject({ type: 'passkey_signin', sessionId: claims.sid });
    // A refresh keeps what the sign-in proved.
    const refreshed = await call<{ token: string }>('/refresh', { json: { refreshToken: result.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(decodeJwtPayload(refreshed.body.token)).toMatchObject({ acr: 'phrh', amr: ['pop', 'mfa'] });
  });

  it('a synced passkey (BS = 1) counts as phr, not phrh', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const { result } = await passwordlessSignin(user.authenticator, user.id, freshIp());
    expect(result.status).toBe(200);
    expect(decodeJwtPayload(result.body.token).acr).toBe('phr');
  });

  it('the second-factor login still answers acr aal2 and amr pwd + pop', async () => {
    setNow(T0);
    const user = await passkeyUser(T0);
    expect(decodeJwtPayload(user.fullToken)).toMatchObject({ acr: 'aal2', amr: ['pwd', 'pop'] });
  });
});
