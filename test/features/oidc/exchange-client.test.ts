import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, signIn, T0, tokenRequest, type Client, type Enrolled } from './support';

// Issue 19 cut the code exchange to two D1 round trips: the client's registry
// row is read in the same round trip as the code (exchange.ts), not kept per
// isolate. These tests pin what a per-isolate copy of the registry would
// break: each one first exchanges a code with the client, so anything the
// isolate could keep about it is warm, then changes the registry and tries
// again within the same second.

afterEach(useRealTime);

const workerEnv = opEnv();

async function codeFor(user: Enrolled, client: Client, now: number) {
  const { verifier, challenge } = await pkce();
  const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge), now);
  expect(answer.status).toBe(303);
  return { code: codeOf(answer.location), verifier };
}

function exchange(grant: { code: string; verifier: string }, authorization: string) {
  return tokenRequest(workerEnv, { grant_type: 'authorization_code', code: grant.code, redirect_uri: REDIRECT, code_verifier: grant.verifier }, authorization);
}

/** 1 once the code was spent (an exchange opened a session with it). */
async function spent(code: string): Promise<number> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(code)));
  const hash = btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const row = await env.DB.prepare('SELECT used_at FROM oidc_codes WHERE code_hash = ?').bind(hash).first<{ used_at: number | null }>();
  return row?.used_at ? 1 : 0;
}

describe('the code exchange reads the client in the request, never a copy', () => {
  // Attack: a client is deleted (its operator revoked it, or it leaked), but an
  // isolate that cached its registry row keeps exchanging the codes already
  // issued to it. Here the registry row alone is gone (as it is between the
  // first statement of DELETE /admin/clients/:id and its pass over the shards):
  // the code still sits on its shard, and the exchange must still refuse.
  it('deleted client keeps exchanging codes: refused (invalid_client) while its code is still stored, nothing spent', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const warm = await codeFor(user, client, T0 + 30);
    expect((await exchange(warm, basic(client))).status).toBe(200);
    const pending = await codeFor(user, client, T0 + 60);
    await env.DB.prepare('DELETE FROM oidc_clients WHERE id = ?').bind(client.clientId).run();
    const refused = await exchange(pending, basic(client));
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe('invalid_client');
    expect(await spent(pending.code)).toBe(0);
  });

  it('deleted client through the support API: its pending code is refused', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    expect((await exchange(await codeFor(user, client, T0 + 30), basic(client))).status).toBe(200);
    const pending = await codeFor(user, client, T0 + 60);
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await exchange(pending, basic(client))).json.error).toBe('invalid_client');
  });

  // Attack: a leaked client secret is rotated; an isolate that cached the old
  // secret's hash accepts it for a while. The old one must fail from the
  // rotation on, for the code exchange as for every other use.
  it('rotated secret still accepted by a warm isolate: the old secret is refused at once, the new one works', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    expect((await exchange(await codeFor(user, client, T0 + 30), basic(client))).status).toBe(200);
    const pending = await codeFor(user, client, T0 + 60);
    const rotated = await admin(workerEnv, `/admin/clients/${client.clientId}/secret`, { method: 'POST' });
    expect(rotated.status).toBe(201);
    const old = await exchange(pending, basic(client));
    expect(old.status).toBe(401);
    expect(old.json.error).toBe('invalid_client');
    expect(await spent(pending.code)).toBe(0);
    const renewed = await exchange(pending, basic({ clientId: client.clientId, clientSecret: rotated.json.clientSecret as string }));
    expect(renewed.status).toBe(200);
  });

  // The client is read with the code; an id that names no client is refused
  // before the code is looked at, and does not spend it.
  it('an unknown or overlong client id is invalid_client, as before', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const pending = await codeFor(user, client, T0 + 30);
    expect((await exchange(pending, basic({ clientId: 'c_nobody', clientSecret: 'x' }))).json.error).toBe('invalid_client');
    expect((await exchange(pending, basic({ clientId: `c_${'x'.repeat(80)}`, clientSecret: 'x' }))).json.error).toBe('invalid_client');
    expect((await exchange(pending, basic(client))).status).toBe(200);
  });
});
