import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, setNow, totpAt, useRealTime } from '../../helpers';
import { bindings, enrolledOn, nameOnShard } from '../../shards/support';
import { admin, authorizePath, Browser, opEnv, pkce, registerClient, stepFields, T0, type Answer, type Client, type Enrolled } from './support';

// Issue 19: the hosted steps read no registry row; the signed ticket carries
// the client's name, first-party flag and matched redirect URI, and whatever
// issues a code checks that copy against the registry: in the code INSERT's
// own guard when the person's shard is the primary, by a read of the primary
// otherwise. Each attack below changes the registry while a person is half-way
// through signing in, with a ticket made before the change, and is run for a
// person on the primary (shard 0) and on another shard (shard 2 of 4).

afterEach(useRealTime);

const SHARDS = 4;
const workerEnv = opEnv({ SHARD_COUNT: String(SHARDS) });
let clock = T0;

async function personOn(shard: number): Promise<Enrolled> {
  return enrolledOn(workerEnv, T0, nameOnShard(shard, SHARDS, 'Tk'));
}

/** Up to the code page, with the ticket made by GET /authorize before `change` runs; then the code step. */
async function codeStepAfter(user: Enrolled, client: Client, change: () => Promise<void>): Promise<Answer> {
  clock += 30;
  setNow(clock);
  const { challenge } = await pkce();
  const browser = new Browser(workerEnv);
  const start = await browser.get(authorizePath(client.clientId, challenge));
  expect(start.status).toBe(200);
  await change();
  const password = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
  expect(password.status).toBe(200);
  expect(password.text).toContain('one-time-code');
  return browser.post('/authorize/otp', { ...stepFields(password.text), code: await totpAt(user.secret, clock) });
}

describe.each([0, 2])('a ticket’s copy of the client is checked before a code (person on shard %i)', (shard) => {
  // Attack: the client is deleted (revoked by the operator) while someone is
  // signing in to it; the ticket still names it as it was. No code may be made
  // for it, and the browser is not sent back to it.
  it('deleted client during a sign-in gets a code from an old ticket: refused with the error page', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { firstParty: true });
    const answer = await codeStepAfter(user, client, async () => {
      expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    });
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
    expect(answer.text).toContain('no longer registered');
  });

  // Attack: a redirect URI is removed from the registration (say its domain
  // lapsed) during a sign-in; the ticket still carries it. The code must not
  // go there.
  it('redirect URI removed during a sign-in still receives the code: refused with the error page', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { firstParty: true });
    const answer = await codeStepAfter(user, client, async () => {
      const patched = await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { redirectUris: ['https://elsewhere.example/cb'] } });
      expect(patched.status).toBe(200);
    });
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
  });

  // Attack: a client stops being first-party during a sign-in; the ticket
  // still says first-party, which skips the consent screen. The person must
  // be asked first.
  it('first-party flag dropped during a sign-in skips consent: the consent page is shown instead of a code', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { firstParty: true });
    const answer = await codeStepAfter(user, client, async () => {
      expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { firstParty: false } })).status).toBe(200);
    });
    expect(answer.status).toBe(200);
    expect(answer.location).toBeNull();
    expect(answer.text).toMatch(/name="decision" value="allow"/);
  });

  it('an unchanged client: the code step ends with the code', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { firstParty: true });
    const answer = await codeStepAfter(user, client, async () => {});
    expect(answer.status).toBe(303);
    expect(new URL(answer.location!).searchParams.get('code')).toBeTruthy();
  });
});

/** A third-party client's sign-in up to the consent page, with the ticket of that page made before `change` runs. */
async function consentAfter(user: Enrolled, client: Client, decision: 'allow' | 'deny', change: () => Promise<void>): Promise<Answer> {
  clock += 30;
  setNow(clock);
  const { challenge } = await pkce();
  const browser = new Browser(workerEnv);
  const start = await browser.get(authorizePath(client.clientId, challenge));
  const password = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
  const asking = await browser.post('/authorize/otp', { ...stepFields(password.text), code: await totpAt(user.secret, clock) });
  expect(asking.text).toMatch(/name="decision" value="allow"/);
  await change();
  return browser.post('/authorize/consent', { ...stepFields(asking.text), decision });
}

describe.each([0, 2])('the consent step checks the ticket’s copy of the client (person on shard %i)', (shard) => {
  // Attack: the client is deleted while its consent page is open; "allow"
  // must not leave a consent row (nothing would ever clean it up: the
  // deletion's pass over the shards has run) nor a code.
  it('deleted client while the consent page is open: allow records nothing and gets no code', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { name: 'Third party' });
    const answer = await consentAfter(user, client, 'allow', async () => {
      expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    });
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
    const db = bindings(SHARDS)[shard]!;
    const count = async (table: string) => (await db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ? AND client_id = ?`).bind(user.id, client.clientId).first<{ n: number }>())!.n;
    expect(await count('oidc_consents')).toBe(0);
    expect(await count('oidc_codes')).toBe(0);
  });

  // Attack: the redirect URI is removed while the consent page is open;
  // "deny" sends the browser back with access_denied, which must not go to
  // an address the client no longer owns (an open redirect).
  it('redirect URI removed while the consent page is open: deny shows our error page, no redirect', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { name: 'Third party' });
    const answer = await consentAfter(user, client, 'deny', async () => {
      expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { redirectUris: ['https://elsewhere.example/cb'] } })).status).toBe(200);
    });
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
  });

  it('an unchanged client: allow ends with the code, and the consent is remembered', async () => {
    const user = await personOn(shard);
    const client = await registerClient(workerEnv, { name: 'Third party' });
    const answer = await consentAfter(user, client, 'allow', async () => {});
    expect(answer.status).toBe(303);
    expect(new URL(answer.location!).searchParams.get('code')).toBeTruthy();
    const db = bindings(SHARDS)[shard]!;
    expect((await db.prepare('SELECT COUNT(*) AS n FROM oidc_consents WHERE user_id = ? AND client_id = ?').bind(user.id, client.clientId).first<{ n: number }>())!.n).toBe(1);
  });
});
