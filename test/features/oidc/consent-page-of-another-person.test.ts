import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { authorizePath, Browser, enrolled, opEnv, pkce, registerClient, signIn, stepFields, T0 } from './support';

// Review 3. The consent page's ticket named the request, not the person it
// was shown to, and the consent step took whichever provider session the
// browser held when "allow" was pressed. The story, on a shared computer:
// Alice signs in to a third-party app and stops at its consent page (she
// does not want it to read her profile). She signs out at the provider
// (/end-session) and walks away, the consent tab still open. Bob signs in on
// the same browser to another, first-party app. Pressing "allow" in the old
// tab (Bob, or anyone at the keyboard) then recorded a consent in Bob's name
// to an app Bob was never asked about, and sent Bob's code to it. "allow"
// must count only for the person the page asked.

afterEach(useRealTime);

const workerEnv = opEnv();

describe('a consent page answered after another person signed in on the browser', () => {
  it('consent page of another person: allow after a sign-out and a new sign-in asks the new person instead of granting in their name', async () => {
    const alice = await enrolled(workerEnv, T0);
    const bob = await enrolled(workerEnv, T0);
    const thirdParty = await registerClient(workerEnv, { name: 'Third party' });
    const firstParty = await registerClient(workerEnv, { firstParty: true });
    const browser = new Browser(workerEnv);
    const asking = await signIn(browser, alice, authorizePath(thirdParty.clientId, (await pkce()).challenge), T0 + 30);
    expect(asking.text).toMatch(/name="decision" value="allow"/);
    // Alice signs out at the provider (RP-initiated logout, confirmed on its page).
    setNow(T0 + 40);
    const out = await browser.get(`/end-session?${new URLSearchParams({ client_id: firstParty.clientId })}`);
    expect((await browser.post('/end-session', { ...stepFields(out.text), confirm: '1' })).status).toBe(200);
    // Bob signs in on the same browser to another application.
    const bobIn = await signIn(browser, bob, authorizePath(firstParty.clientId, (await pkce()).challenge), T0 + 60);
    expect(bobIn.status).toBe(303);
    // Alice's old consent tab: "allow".
    const answer = await browser.post('/authorize/consent', { ...stepFields(asking.text), decision: 'allow' });
    expect(answer.location).toBeNull();
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/name="decision" value="allow"/);
    const consents = await env.DB.prepare('SELECT COUNT(*) AS n FROM oidc_consents WHERE user_id = ? AND client_id = ?').bind(bob.id, thirdParty.clientId).first<{ n: number }>();
    expect(consents!.n).toBe(0);
    const codes = await env.DB.prepare('SELECT COUNT(*) AS n FROM oidc_codes WHERE user_id = ? AND client_id = ?').bind(bob.id, thirdParty.clientId).first<{ n: number }>();
    expect(codes!.n).toBe(0);
  });

  it('the person the page asked: allow records the consent and ends with the code', async () => {
    const alice = await enrolled(workerEnv, T0);
    const thirdParty = await registerClient(workerEnv, { name: 'Third party' });
    const browser = new Browser(workerEnv);
    const asking = await signIn(browser, alice, authorizePath(thirdParty.clientId, (await pkce()).challenge), T0 + 30);
    const answer = await browser.post('/authorize/consent', { ...stepFields(asking.text), decision: 'allow' });
    expect(answer.status).toBe(303);
    expect(new URL(answer.location!).searchParams.get('code')).toBeTruthy();
  });
});
