import { afterEach, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, enrolled, type Enrolled, exchangeCode, opEnv, PASSWORD, pkce, registerClient, send, signIn, T0, tokenRequest } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();

/** Signs `user` in to a client through the pages at `at`; the tokens and the browser. */
async function signedIn(user: Enrolled, at: number) {
  const client = await registerClient(workerEnv, { firstParty: true });
  const { verifier, challenge } = await pkce();
  const browser = new Browser(workerEnv);
  const answer = await signIn(browser, user, authorizePath(client.clientId, challenge), at);
  setNow(at + 1);
  const tokens = await exchangeCode(workerEnv, client, verifier, answer.location);
  return { client, browser, challenge, tokens: tokens.json as { access_token: string; refresh_token: string } };
}

async function expectEnded(signed: Awaited<ReturnType<typeof signedIn>>) {
  expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${signed.tokens.access_token}` } })).status).toBe(401);
  expect((await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: signed.tokens.refresh_token }, basic(signed.client))).json.error).toBe('invalid_grant');
  // The browser's provider session ended too: the sign-in page again, not a code.
  expect((await signed.browser.get(authorizePath(signed.client.clientId, signed.challenge))).status).toBe(200);
}

describe('every way the JSON API ends sessions ends the provider session and every client’s tokens', () => {
  it('a password change (every other session revoked)', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('pw'));
    const signed = await signedIn(user, T0 + 30);
    setNow(T0 + 60);
    const changed = await send(workerEnv, '/password', {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ currentPassword: PASSWORD, newPassword: 'another horse battery staple' }),
    });
    expect(changed.status, changed.text).toBe(200);
    await expectEnded(signed);
  });

  it('logout of every session', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('out'));
    const signed = await signedIn(user, T0 + 30);
    setNow(T0 + 60);
    const out = await send(workerEnv, '/logout', { method: 'POST', headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ scope: 'all' }) });
    expect(out.status).toBe(204);
    await expectEnded(signed);
  });

  it('an MFA reset by support', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('reset'));
    const signed = await signedIn(user, T0 + 30);
    setNow(T0 + 60);
    expect((await admin(workerEnv, `/admin/users/${user.id}/reset-mfa`, { json: { reason: 'lost phone, ticket 9' } })).status).toBe(200);
    await expectEnded(signed);
  });
});
