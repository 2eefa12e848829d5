import { afterEach, describe, expect, it } from 'vitest';
import { useRealTime } from '../../helpers';
import { admin, authorizePath, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, signIn, T0, tokenRequest } from './support';

// Review 3. The promise: a redirect URI removed from a client's registration
// stops working at once. The hosted steps check the ticket's copy of it before
// a code is made (ticket-client.test.ts), but a code made a moment before the
// removal lives on for its 60 s, and /token compared the code's redirect URI
// only with the one the request names, never with the registry it had just
// read. The story: a public client's second redirect URI sits on a domain that
// lapsed and an attacker registered. The attacker starts a sign-in with their
// own PKCE pair and that redirect URI, and lures a person through it; the code
// lands on the attacker's server. The operator sees the lapsed domain and
// removes the URI. The attacker, holding code and verifier, exchanges the code
// within the minute and gets the person's ID token and access token.

afterEach(useRealTime);

const workerEnv = opEnv();
const LAPSED = 'https://lapsed.example/cb';

describe('a redirect URI removed after its code was issued', () => {
  it('removed redirect URI: its pending code is refused at /token (invalid_grant), not exchanged', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { type: 'public', firstParty: true, redirectUris: [REDIRECT, LAPSED] });
    const { verifier, challenge } = await pkce();
    const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge, { redirect_uri: LAPSED }), T0 + 30);
    expect(answer.status).toBe(303);
    expect(answer.location!.startsWith(LAPSED)).toBe(true);
    const code = codeOf(answer.location);
    const patched = await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { redirectUris: [REDIRECT] } });
    expect(patched.status).toBe(200);
    const exchanged = await tokenRequest(workerEnv, { grant_type: 'authorization_code', client_id: client.clientId, code, redirect_uri: LAPSED, code_verifier: verifier });
    expect(exchanged.status).toBe(400);
    expect(exchanged.json.error).toBe('invalid_grant');
    expect(exchanged.json.id_token).toBeUndefined();
  });

  it('a redirect URI still registered: the same exchange succeeds', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { type: 'public', firstParty: true, redirectUris: [REDIRECT, LAPSED] });
    const { verifier, challenge } = await pkce();
    const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge, { redirect_uri: LAPSED }), T0 + 30);
    const code = codeOf(answer.location);
    // Another URI removed: this one is unaffected.
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { redirectUris: [LAPSED] } })).status).toBe(200);
    const exchanged = await tokenRequest(workerEnv, { grant_type: 'authorization_code', client_id: client.clientId, code, redirect_uri: LAPSED, code_verifier: verifier });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.id_token).toBeTruthy();
  });
});
