import { afterEach, describe, expect, it } from 'vitest';
import { useRealTime } from '../../helpers';
import { authorizePath, Browser, codeOf, enrolled, opEnv, pkce, registerClient, signIn, stepFields, T0 } from './support';

// Review 3. docs/openid-provider.md: "prompt=consent shows the consent page
// even when the consent is remembered". It did so only with a live provider
// session: prompt was never carried by the ticket, so a request that went
// through the sign-in pages (the usual case: a new browser, or after a
// sign-out) ended the code step with a code whenever a consent was
// remembered. The story: an app asks prompt=consent precisely so that the
// person sees, and can refuse, what it is about to get (offline_access: a
// refresh token that outlives the session); a consent given once, months ago,
// on another device, answered for them without a page.

afterEach(useRealTime);

const workerEnv = opEnv();

describe('prompt=consent through the sign-in pages', () => {
  it('prompt=consent after a fresh sign-in with a remembered consent: the consent page, not a code', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { name: 'Third party' });
    // Once, on one device: asked and allowed.
    const firstBrowser = new Browser(workerEnv);
    const asked = await signIn(firstBrowser, user, authorizePath(client.clientId, (await pkce()).challenge), T0 + 60);
    expect(asked.text).toMatch(/name="decision" value="allow"/);
    expect(codeOf((await firstBrowser.post('/authorize/consent', { ...stepFields(asked.text), decision: 'allow' })).location)).toBeTruthy();
    // Later, on a new browser: prompt=consent, through the sign-in pages.
    const browser = new Browser(workerEnv);
    const answer = await signIn(browser, user, authorizePath(client.clientId, (await pkce()).challenge, { prompt: 'consent' }), T0 + 90);
    expect(answer.location).toBeNull();
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/name="decision" value="allow"/);
    // Its answer still works: allow ends with the code.
    const allowed = await browser.post('/authorize/consent', { ...stepFields(answer.text), decision: 'allow' });
    expect(codeOf(allowed.location)).toBeTruthy();
  });

  it('without prompt=consent a remembered consent still ends the code step with the code', async () => {
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { name: 'Third party' });
    const firstBrowser = new Browser(workerEnv);
    const asked = await signIn(firstBrowser, user, authorizePath(client.clientId, (await pkce()).challenge), T0 + 30);
    await firstBrowser.post('/authorize/consent', { ...stepFields(asked.text), decision: 'allow' });
    const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, (await pkce()).challenge), T0 + 60);
    expect(codeOf(answer.location)).toBeTruthy();
  });
});
