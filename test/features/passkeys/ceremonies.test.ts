import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, registerUser, setNow, totpAt, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { addPasskey, assertionResponse, credentialRow, options, passkeyLogin, passkeyUser } from './support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

describe('passkeys: the journeys', () => {
  it('a first passkey enrollment answers a full session, a refresh token and recovery codes; /login and /me answer methods', async () => {
    const user = await passkeyUser(T0);
    expect(decodeJwtPayload(user.fullToken)).toMatchObject({ amr: ['pwd', 'pop'], sub: user.id });
    expect(user.refreshToken).toEqual(expect.any(String));
    expect(user.recoveryCodes).toHaveLength(10);
    // The password-only session that enrolled is retired.
    expect((await call('/logout', { method: 'POST', token: user.passwordToken })).status).toBe(401);
    const login = await call<{ mfa: string; methods: string[] }>('/login', { json: { username: user.username, password: user.password } });
    expect(login.body).toMatchObject({ mfa: 'verify', methods: ['webauthn'] });
    const me = await call('/me', { token: user.fullToken });
    expect(me.body).toMatchObject({ mfaEnabled: true, methods: ['webauthn'], recoveryCodesRemaining: 10 });
  });

  it('before any factor, /login answers mfa enroll and no methods; with TOTP and a passkey, both', async () => {
    setNow(T0);
    const fresh = await registerUser();
    expect((await loginUser(fresh.username)) as unknown).toMatchObject({ mfa: 'enroll', methods: [] });
    const both = await enrolledUser(T0);
    expect((await addPasskey(both.fullToken, await SoftwareAuthenticator.create(-8))).status).toBe(201);
    expect((await loginUser(both.username)) as unknown).toMatchObject({ mfa: 'verify', methods: ['otp', 'webauthn'] });
  });

  it('the second step with a passkey opens a new full session (amr pwd pop) and retires the password-only one', async () => {
    const user = await passkeyUser(T0);
    const { token, result } = await passkeyLogin(user);
    expect(result.status).toBe(200);
    expect(decodeJwtPayload(result.body.token)).toMatchObject({ amr: ['pwd', 'pop'], authorized: true });
    expect((await call('/me', { token: result.body.token })).status).toBe(200);
    expect((await call('/logout', { method: 'POST', token })).status).toBe(401);
    expect((await call('/refresh', { json: { refreshToken: result.body.refreshToken } })).status).toBe(200);
  });

  it('login/options lists this user’s credentials only', async () => {
    const alice = await passkeyUser(T0);
    await passkeyUser(T0);
    const { token } = await loginUser(alice.username);
    const opts = await options('login', token);
    expect(opts.publicKey).toMatchObject({ rpId: 'mfa.test', userVerification: 'preferred', allowCredentials: [{ type: 'public-key', id: alice.credentialId }] });
  });

  it('a second passkey needs a full token with step-up; a password alone cannot add one, nor a TOTP secret, once a passkey is active', async () => {
    const user = await passkeyUser(T0);
    const { token: passwordOnly } = await loginUser(user.username);
    // Attack: a stolen password adds the attacker's own factor beside the victim's passkey.
    expect((await call('/webauthn/register/options', { token: passwordOnly, json: {} })).body).toMatchObject({ error: 'mfa_already_enabled' });
    expect((await call('/create-otp', { method: 'POST', token: passwordOnly })).body).toMatchObject({ error: 'mfa_already_enabled' });
    // Step-up: 301 s after the enrollment the full token is no longer recent.
    setNow(T0 + 301);
    const stale = await call('/webauthn/register/options', { token: user.fullToken, json: {} });
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ error: 'insufficient_user_authentication' });
    setNow(T0 + 10);
    const second = await addPasskey(user.fullToken, await SoftwareAuthenticator.create(-8), {});
    expect(second.status).toBe(201);
    expect(second.body).toEqual({ credential: { id: expect.any(String), name: 'Passkey', createdAt: expect.any(String) } });
    const list = await call<{ credentials: unknown[] }>('/webauthn/credentials', { token: user.fullToken });
    expect(list.body.credentials).toHaveLength(2);
    expect(list.body.credentials[0]).toEqual({ id: user.credentialId, name: 'Passkey', createdAt: expect.any(String), lastUsedAt: null, backedUp: false, passwordless: true });
  });

  it('a name given at options or verify labels the passkey; a blank name is 400', async () => {
    const user = await enrolledUser(T0);
    const r = await call<{ challengeId: string }>('/webauthn/register/options', { token: user.fullToken, json: { name: '   ' } });
    expect(r.status).toBe(400);
    const opts = await options('register', user.fullToken);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const response = await authenticator.register(opts.challenge, { rpId: 'mfa.test', origin: 'https://mfa.test' });
    const done = await call<{ credential: { name: string } }>('/webauthn/register/verify', { token: user.fullToken, json: { challengeId: opts.challengeId, response, name: ' Laptop ' } });
    expect(done.body.credential.name).toBe('Laptop');
  });

  it('/reauthenticate takes a passkey: same session, fresh auth_time', async () => {
    const user = await passkeyUser(T0);
    setNow(T0 + 400);
    const opts = await options('login', user.fullToken);
    const response = await assertionResponse(user.authenticator, user.id, opts);
    const r = await call<{ token: string }>('/reauthenticate', { token: user.fullToken, json: { webauthn: { challengeId: opts.challengeId, response } } });
    expect(r.status).toBe(200);
    const before = decodeJwtPayload(user.fullToken);
    const after = decodeJwtPayload(r.body.token);
    expect(after).toMatchObject({ sid: before.sid, auth_time: T0 + 400, amr: ['pwd', 'pop'] });
    // A login challenge (of a password-only session) is not a step-up challenge, and back.
    const { token: passwordOnly } = await loginUser(user.username);
    const loginOpts = await options('login', passwordOnly);
    const wrong = await call('/reauthenticate', { token: r.body.token, json: { webauthn: { challengeId: loginOpts.challengeId, response: await assertionResponse(user.authenticator, user.id, loginOpts) } } });
    expect(wrong.status).toBe(401);
  });

  it('UV = 0 is accepted and recorded; UV = 1 afterwards is recorded too', async () => {
    const user = await passkeyUser(T0);
    const { result } = await passkeyLogin(user, { flags: { uv: false } });
    expect(result.status).toBe(200);
    expect((await credentialRow(user.credentialId))!.user_verified).toBe(0);
    expect((await passkeyLogin(user)).result.status).toBe(200);
    expect((await credentialRow(user.credentialId))!.user_verified).toBe(1);
  });

  it('UP = 0 is refused at registration and at login (malware signing without a gesture)', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    expect((await addPasskey(token, await SoftwareAuthenticator.create(-7), { flags: { up: false } })).status).toBe(401);
    const holder = await passkeyUser(T0);
    expect((await passkeyLogin(holder, { flags: { up: false } })).result.status).toBe(401);
  });

  it('recovery codes of a passkey-only account work at /otp-verify, and /recovery-codes regenerates them', async () => {
    const user = await passkeyUser(T0);
    const { token } = await loginUser(user.username);
    const r = await call<{ token: string }>('/otp-verify', { token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(r.status).toBe(200);
    expect((await call('/recovery-codes', { method: 'POST', token: r.body.token })).status).toBe(201);
  });
});

describe('passkeys: removal', () => {
  it('deleting the only second factor is 409 last_factor; with TOTP beside it, 204', async () => {
    const only = await passkeyUser(T0);
    const r = await call(`/webauthn/credentials/${only.credentialId}`, { method: 'DELETE', token: only.fullToken });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: 'last_factor' });
    expect(await credentialRow(only.credentialId)).not.toBeNull();

    const both = await enrolledUser(T0);
    const added = await addPasskey(both.fullToken, await SoftwareAuthenticator.create(-7));
    expect((await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: both.fullToken })).status).toBe(204);
    expect(await credentialRow(added.body.credential.id)).toBeNull();
    expect((await loginUser(both.username)) as unknown).toMatchObject({ methods: ['otp'] });
  });

  it('another user’s credential is 404 and stays', async () => {
    const alice = await passkeyUser(T0);
    const mallory = await enrolledUser(T0);
    // Attack: deleting someone else's passkey by its (public) id.
    const r = await call(`/webauthn/credentials/${alice.credentialId}`, { method: 'DELETE', token: mallory.fullToken });
    expect(r.status).toBe(404);
    expect(await credentialRow(alice.credentialId)).not.toBeNull();
    expect((await call('/webauthn/credentials/nope', { method: 'DELETE', token: mallory.fullToken })).status).toBe(404);
  });

  it('two concurrent deletes of an account’s last two passkeys: exactly one wins', async () => {
    const user = await passkeyUser(T0);
    const second = await addPasskey(user.fullToken, await SoftwareAuthenticator.create(-8));
    const results = await Promise.all(
      [user.credentialId, second.body.credential.id].map((id) => call(`/webauthn/credentials/${id}`, { method: 'DELETE', token: user.fullToken })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    const left = await env.DB.prepare('SELECT count(*) AS n FROM webauthn_credentials WHERE user_id = ?').bind(user.id).first<{ n: number }>();
    expect(left!.n).toBe(1);
  });

  it('deleting needs step-up', async () => {
    const user = await enrolledUser(T0);
    const added = await addPasskey(user.fullToken, await SoftwareAuthenticator.create(-7));
    setNow(T0 + 301);
    const r = await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: user.fullToken });
    expect(r.status).toBe(401);
    // And a step-up with a TOTP code makes it possible.
    const re = await call<{ token: string }>('/reauthenticate', { token: user.fullToken, json: { code: await totpAt(user.secret, T0 + 301 + 30) } });
    expect(re.status).toBe(200);
    expect((await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: re.body.token })).status).toBe(204);
  });
});
