import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { scheduled } from '../../../src/scheduled';
import { decodeJwtPayload, setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, Browser, type Client, enrolled, exchangeCode, interceptLogoutPosts, opEnv, pkce, registerClient, signIn, T0 } from './support';

/** Review 4: the release of untried targets (2421660) and the sweep's order. */

const workerEnv = opEnv();
let client: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true, backchannelLogoutUri: 'https://rp-review4.example/healthy' });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

async function hourlyCron(at: number) {
  setNow(at);
  const ctx = createExecutionContext();
  await scheduled(createScheduledController({ scheduledTime: new Date(at * 1000), cron: '47 * * * *' }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
}

describe('back-channel sweep: a dead client’s handed-back backlog must not starve a retry', () => {
  it('a healthy client’s session whose first rounds failed is told within three sweeps although a dead client owes more than a batch', async () => {
    // Attack story (a logout lost to the cleanup): a client's receiver is gone for good (or made
    // to time out by whoever runs it) and more than a batch (100) of its sessions on one shard
    // are owed a logout. Since 2421660 each sweep tries ONE of them, and hands the other 99
    // back with their round undone: the backlog keeps its low round count and drains one
    // session per hour instead of a hundred. The claim takes the fewest rounds first, so a
    // healthy client's session whose earlier rounds failed (its app was redeploying during the
    // sign-out and the first sweep) sorts behind the whole backlog, hour after hour; with a
    // backlog of a few hundred the cleanup deletes it, untold, a week later, and the person's
    // session at that app outlives their sign-out.
    setNow(T0);
    const dead = await registerClient(workerEnv, { firstParty: true, name: 'Gone for good', backchannelLogoutUri: 'https://rp-review4.example/dead' });
    const owner = await enrolled(workerEnv, T0, uniqueName('rv4-dead'));
    const done = await signIn(new Browser(workerEnv), owner, authorizePath(dead.clientId, challenge), T0 + 30);
    expect((await exchangeCode(workerEnv, dead, verifier, done.location)).status).toBe(200);
    const db = workerEnv.DB;
    const grant = (await db.prepare('SELECT * FROM oidc_grants WHERE user_id = ?').bind(owner.id).first()) as Record<string, unknown>;
    const session = (await db.prepare('SELECT * FROM sessions WHERE id = ?').bind(grant.session_id).first()) as Record<string, unknown>;
    const insert = (table: string, row: Record<string, unknown>) =>
      db.prepare(`INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map(() => '?').join(', ')})`).bind(...Object.values(row));
    const backlog = [];
    for (let i = 0; i < 130; i++) {
      const id = `${String(grant.session_id)[0]}${crypto.randomUUID().slice(1)}`;
      backlog.push(insert('sessions', { ...session, id, revoked_at: T0 + 25 }), insert('oidc_grants', { ...grant, session_id: id, provider_session_id: id, logout_attempts: 1 }));
    }
    await db.batch(backlog);
    let victim: Awaited<ReturnType<typeof enrolled>>;
    do victim = await enrolled(workerEnv, T0, uniqueName('rv4-starved'));
    while (victim.id[0] !== owner.id[0]);
    const answer = await signIn(new Browser(workerEnv), victim, authorizePath(client.clientId, challenge), T0 + 30);
    const tokens = await exchangeCode(workerEnv, client, verifier, answer.location);
    const sid = decodeJwtPayload(tokens.json.id_token as string).sid as string;
    // Signed out; the request's round and the first sweep's round both failed (the app was redeploying).
    await db.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?').bind(T0 + 40, sid).run();
    await db.prepare('UPDATE oidc_grants SET logout_attempts = 2 WHERE provider_session_id = ?').bind(sid).run();
    const posts = interceptLogoutPosts('https://rp-review4.example/', (url) => (url.endsWith('/dead') ? 503 : 200));
    await hourlyCron(T0 + 2 * 3600);
    await hourlyCron(T0 + 3 * 3600);
    await hourlyCron(T0 + 4 * 3600);
    // Before 2421660 each sweep spent a round of each of the 100 dead sessions it claimed, and
    // the third reached the victim; since, 127 dead sessions still sit at one round and it waits.
    // What the victim's app was told (its receiver answered 200; the dead client's answered 503).
    const told = posts.filter((post) => !post.url.endsWith('/dead') && decodeJwtPayload(post.token).sub === victim.id).map((post) => decodeJwtPayload(post.token).sid as string);
    expect(told).toEqual([sid]);
  });
});
