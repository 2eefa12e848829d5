import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, type Client, enrolled, exchangeCode, opEnv, pkce, registerClient, send, signIn, stepFields, T0, tokenRequest } from './support';

/** API.md, "Logout and revocation": RP-Initiated Logout 1.0 at /end-session. */

afterEach(() => {
  vi.restoreAllMocks();
  useRealTime();
});

const workerEnv = opEnv();
const AFTER = 'https://rp.example/signed-out';
let client: Client;
let other: Client;
let challenge: string;
let verifier: string;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv, { firstParty: true, postLogoutRedirectUris: [AFTER] });
  other = await registerClient(workerEnv, { firstParty: true, name: 'Other', postLogoutRedirectUris: ['https://other.example/bye'] });
  ({ challenge, verifier } = await pkce());
  useRealTime();
});

/** A signed-in browser and the tokens its first client got. */
async function signedIn(now = T0 + 30) {
  const user = await enrolled(workerEnv, T0, uniqueName('logout'));
  const browser = new Browser(workerEnv);
  const done = await signIn(browser, user, authorizePath(client.clientId, challenge), now);
  const tokens = await exchangeCode(workerEnv, client, verifier, done.location);
  return { user, browser, idToken: tokens.json.id_token as string, refreshToken: tokens.json.refresh_token as string };
}

async function refreshWorks(refreshToken: string): Promise<boolean> {
  const answer = await tokenRequest(workerEnv, { grant_type: 'refresh_token', refresh_token: refreshToken }, basic(client));
  return answer.status === 200;
}

const endPath = (fields: Record<string, string>) => `/end-session?${new URLSearchParams(fields)}`;

describe('/end-session', () => {
  it('is in discovery; with a hint for this browser session it ends the session and its clients’ tokens, and returns to the registered URI with state', async () => {
    const discovery = await send(workerEnv, '/.well-known/openid-configuration');
    expect(discovery.json.end_session_endpoint).toBe(`${discovery.json.issuer}/end-session`);
    const { browser, idToken, refreshToken } = await signedIn();
    setNow(T0 + 40);
    const out = await browser.get(endPath({ id_token_hint: idToken, post_logout_redirect_uri: AFTER, state: 'bye-1' }));
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${AFTER}?state=bye-1`);
    expect(browser.jar.has('__Host-edge-mfa-op')).toBe(false);
    expect(await refreshWorks(refreshToken)).toBe(false);
    expect((await browser.get(authorizePath(client.clientId, challenge))).text).toContain('autocomplete="current-password"');
  });

  it('an expired hint is still a hint (RP-Initiated Logout §2)', async () => {
    const { browser, idToken, refreshToken } = await signedIn();
    // The session is kept alive by use (SSO) while the first ID token expires.
    setNow(T0 + 3000);
    expect((await browser.get(authorizePath(client.clientId, challenge))).status).toBe(303);
    setNow(T0 + 3700);
    const out = await browser.get(endPath({ id_token_hint: idToken, post_logout_redirect_uri: AFTER }));
    expect(out.location).toBe(AFTER);
    expect(await refreshWorks(refreshToken)).toBe(false);
  });

  it('an unregistered or another client’s post_logout_redirect_uri is never followed: the signed-out page', async () => {
    const { browser, idToken, refreshToken } = await signedIn();
    setNow(T0 + 40);
    // Story: a phishing link uses our logout as an open redirector.
    const out = await browser.get(endPath({ id_token_hint: idToken, post_logout_redirect_uri: 'https://evil.example/', state: 's' }));
    expect(out.status).toBe(200);
    expect(out.location).toBeNull();
    expect(out.text).toContain('You are signed out');
    expect(await refreshWorks(refreshToken)).toBe(false);
    const foreign = await send(workerEnv, endPath({ client_id: client.clientId, post_logout_redirect_uri: 'https://other.example/bye' }));
    expect(foreign.status).toBe(200);
    expect(foreign.location).toBeNull();
    // A hint of one client with another's client_id: refused.
    expect((await send(workerEnv, endPath({ id_token_hint: idToken, client_id: other.clientId }))).status).toBe(400);
  });

  it('without a valid hint the person confirms first: a cross-site link or a forged hint ends nothing; a cross-site or tokenless confirmation is 403', async () => {
    const { browser, idToken, refreshToken } = await signedIn();
    setNow(T0 + 40);
    // Story: another site embeds /end-session to sign people out; and a hint whose signature was tampered with.
    const [head, body] = idToken.split('.');
    const variants: Record<string, string>[] = [{ client_id: client.clientId, post_logout_redirect_uri: AFTER, state: 'x' }, { id_token_hint: `${head}.${body}.AAAA`, post_logout_redirect_uri: AFTER, state: 'x' }];
    for (const fields of variants) {
      const page = await browser.get(endPath(fields));
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<form method="post" action="\/end-session">/);
      // The form may end at the client only when the return address was checked against a client (the forged hint names none).
      expect(page.headers.get('Content-Security-Policy')!.includes('https://rp.example')).toBe('client_id' in fields);
      expect(await refreshWorks(refreshToken)).toBe(true);
    }
    const page = await browser.get(endPath({ client_id: client.clientId, post_logout_redirect_uri: AFTER, state: 'x' }));
    const fields = { ...stepFields(page.text), confirm: '1' };
    expect((await browser.post('/end-session', fields, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await browser.post('/end-session', { ...fields, csrf: 'forged' })).status).toBe(403);
    expect(await refreshWorks(refreshToken)).toBe(true);
    const out = await browser.post('/end-session', fields);
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${AFTER}?state=x`);
    expect(await refreshWorks(refreshToken)).toBe(false);
  });

  it('a hint from another browser session asks to confirm, and a browser without a session just goes back', async () => {
    const first = await signedIn();
    const second = await signedIn(T0 + 60);
    setNow(T0 + 70);
    const page = await second.browser.get(endPath({ id_token_hint: first.idToken, post_logout_redirect_uri: AFTER }));
    expect(page.text).toMatch(/action="\/end-session"/);
    expect(await refreshWorks(second.refreshToken)).toBe(true);
    const bare = await send(workerEnv, endPath({ id_token_hint: first.idToken, post_logout_redirect_uri: AFTER, state: 'z' }));
    expect(bare.location).toBe(`${AFTER}?state=z`);
    expect(await refreshWorks(first.refreshToken)).toBe(true);
  });

  it('a browser without a provider session reads no signing key, whatever hint it sends; the hint only names the client, as client_id does', async () => {
    // Attack story: /end-session is anonymous, and every hint was verified before anything else:
    // an RS256 hint (the default) re-read the signing keys from the primary database each time,
    // so a script sending hints (real, forged, or naming a new kid each time) made the primary
    // work at its rate. A browser with no provider session has nothing to end; its hint now only
    // names the client, which client_id may do anyway: the return address must still be
    // registered for that client.
    const { idToken } = await signedIn();
    setNow(T0 + 40);
    const prepared: string[] = [];
    const prepare = workerEnv.DB.prepare.bind(workerEnv.DB);
    vi.spyOn(workerEnv.DB, 'prepare').mockImplementation((query: string) => {
      prepared.push(query);
      return prepare(query);
    });
    const [, body] = idToken.split('.');
    const unknownKid = btoa(JSON.stringify({ alg: 'RS256', kid: `never-published-${crypto.randomUUID()}` })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    for (const hint of [idToken, `${unknownKid}.${body}.AAAA`]) {
      const bare = await send(workerEnv, endPath({ id_token_hint: hint, post_logout_redirect_uri: AFTER, state: 'z' }));
      expect(bare.location).toBe(`${AFTER}?state=z`);
      const elsewhere = await send(workerEnv, endPath({ id_token_hint: hint, post_logout_redirect_uri: 'https://evil.example/' }));
      expect(elsewhere.location).toBeNull();
    }
    expect(prepared.length).toBeGreaterThan(0); // the spy sees the app's queries (the client's lookup)
    expect(prepared.filter((query) => query.includes('signing_keys'))).toEqual([]);
  });
});
