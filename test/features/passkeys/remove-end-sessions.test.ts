import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, setNow, totpAt, useRealTime } from '../../helpers';
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { injectFault, removeFault } from '../self-service/support';
import { addPasskey } from './support';

afterEach(async () => {
  useRealTime();
  await removeFault();
});

const T0 = 1_950_900_000;

async function otherDevice(user: { username: string; password: string; secret: string }, at: number) {
  setNow(at);
  const login = await call<{ token: string }>('/login', { json: { username: user.username, password: user.password } });
  const verified = await call<{ token: string }>('/otp-verify', { token: login.body.token, json: { code: await totpAt(user.secret, at) } });
  expect(verified.status).toBe(200);
  return verified.body.token;
}

async function removedEvents(userId: string) {
  const { results } = await env.DB.prepare("SELECT reason, method FROM security_events WHERE user_id = ? AND type = 'passkey_removed'").bind(userId).all();
  return results;
}

describe('DELETE /webauthn/credentials/:id?endSessions=true (ASVS 5.0 V7.4.3)', () => {
  it('attack: a thief\'s passkey is removed and the sessions it opened end with it, in the same change; the caller stays', async () => {
    // The story: a thief added a passkey and signed in with it elsewhere. The
    // owner removes it; before, the thief's session lived on until it expired.
    const user = await enrolledUser(T0);
    const thiefKey = await SoftwareAuthenticator.create(-7);
    const added = await addPasskey(user.fullToken, thiefKey);
    expect(added.status).toBe(201);
    const thief = await otherDevice(user, T0 + 30);
    setNow(T0 + 60);
    const r = await call(`/webauthn/credentials/${added.body.credential.id}?endSessions=true`, { method: 'DELETE', token: user.fullToken });
    expect(r.status).toBe(204);
    expect((await call('/me', { token: thief })).status).toBe(401);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    expect(await removedEvents(user.id)).toEqual([{ reason: 'others', method: 'pop' }]);
  });

  it('without the flag the other sessions stay (as before); a flag other than true/false is 400 and changes nothing', async () => {
    const user = await enrolledUser(T0);
    const key = await SoftwareAuthenticator.create(-7);
    const added = await addPasskey(user.fullToken, key);
    const other = await otherDevice(user, T0 + 30);
    setNow(T0 + 60);
    const bad = await call(`/webauthn/credentials/${added.body.credential.id}?endSessions=yes`, { method: 'DELETE', token: user.fullToken });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'validation_failed' });
    expect(await removedEvents(user.id)).toEqual([]);
    expect((await call(`/webauthn/credentials/${added.body.credential.id}`, { method: 'DELETE', token: user.fullToken })).status).toBe(204);
    expect((await call('/me', { token: other })).status).toBe(200);
    expect(await removedEvents(user.id)).toEqual([{ reason: null, method: 'pop' }]);
  });

  it('one batch: a fault in the DELETE leaves the passkey, the sessions and the log as they were', async () => {
    const user = await enrolledUser(T0);
    const key = await SoftwareAuthenticator.create(-7);
    const added = await addPasskey(user.fullToken, key);
    const other = await otherDevice(user, T0 + 30);
    setNow(T0 + 60);
    await injectFault('BEFORE DELETE ON webauthn_credentials');
    const r = await call(`/webauthn/credentials/${added.body.credential.id}?endSessions=true`, { method: 'DELETE', token: user.fullToken });
    expect(r.status).toBeGreaterThanOrEqual(500);
    await removeFault();
    expect((await call('/me', { token: other })).status).toBe(200);
    expect(await removedEvents(user.id)).toEqual([]);
    const list = await call<{ credentials: { id: string }[] }>('/webauthn/credentials', { token: user.fullToken });
    expect(list.body.credentials.map((c) => c.id)).toContain(added.body.credential.id);
  });
});
