import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeJwtPayload, PASSWORD, setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, Browser, type Client, enrolled, exchangeCode, interceptLogoutPosts, opEnv, pkce, registerClient, send, signIn, T0 } from './support';

/** API.md, "Logout and revocation": account deletion tells every client session it ends, whatever the first POST answered. */

const workerEnv = opEnv();
const BCL = 'https://rp-deleted.example/backchannel';
let client: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true, backchannelLogoutUri: BCL });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

describe('account deletion: a client that fails its first logout token is still sent the others', () => {
  it('the second provider session’s logout token is POSTed although the first one’s round failed', async () => {
    // Attack story: the owner of a compromised account signed in to the same app from two
    // browsers (their laptop, and the attacker's browser holding the stolen sign-in). They
    // delete the account. The deletion's rows are gone with it, so its logout tokens are
    // delivered from memory in ONE round. Since 2421660, a client whose first token fails its
    // round (the app restarting for two seconds: 503, 503, 503) has "its other tokens handed
    // back for the next sweep" — but a deletion has no rows to hand back: the attacker's sid
    // was never POSTed at all, and their session at the app lived on with the account gone.
    const user = await enrolled(workerEnv, T0, uniqueName('del-2sid'));
    const sids: string[] = [];
    for (const at of [T0 + 30, T0 + 100]) {
      const browser = new Browser(workerEnv);
      const done = await signIn(browser, user, authorizePath(client.clientId, challenge), at);
      const tokens = await exchangeCode(workerEnv, client, verifier, done.location);
      expect(tokens.status, tokens.text).toBe(200);
      sids.push(decodeJwtPayload(tokens.json.id_token as string).sid as string);
    }
    expect(new Set(sids).size).toBe(2);
    const statuses = [503, 503, 503];
    const posts = interceptLogoutPosts('https://rp-deleted.example/', () => statuses.shift() ?? 200);
    setNow(T0 + 140);
    const deleted = await send(workerEnv, '/me', { method: 'DELETE', headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    expect(deleted.status, deleted.text).toBe(204);
    // The first token's three attempts failed; the other sid must still have been POSTed.
    expect(new Set(posts.map((post) => decodeJwtPayload(post.token).sid as string))).toEqual(new Set(sids));
  });
});
