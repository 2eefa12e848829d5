/**
 * A person on the provider's hosted sign-in page while the isolate's
 * password-hash queue is past its bound (src/crypto/hash-gate.ts): the JSON
 * routes answer `503 unavailable` with Retry-After, which a client retries, but
 * the hosted password and sign-up steps let that error through too, and the
 * browser showed a bare JSON body in place of the sign-in page. Now the same
 * form comes back with the reason and the wait in role="alert", as a 429 does;
 * nothing was spent (the attempt is taken inside the queue's turn).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withHashSlot } from '../../../src/crypto/hash-gate';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { authorizePath, Browser, enrolled, opEnv, PASSWORD, pkce, registerClient, stepFields, T0 } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();

describe('the hosted sign-in steps when the password-hash queue is full', () => {
  it('the password and sign-up steps show the form again with "try again in N seconds", not a JSON 503', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('busy'));
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const start = await browser.get(authorizePath(client.clientId, challenge));
    const signupLink = /href="(\/authorize\/signup\?ticket=[^"]+)"/.exec(start.text)![1]!.replace(/&amp;/g, '&');
    const signupForm = await browser.get(signupLink);

    // One hash measured at 250 ms; one in progress and seven waiting: the next is past the 2 s bound.
    await withHashSlot(async () => void vi.setSystemTime(Date.now() + 250));
    let release!: () => void;
    const held = withHashSlot(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = Array.from({ length: 7 }, () => withHashSlot(async () => undefined));

    const busy = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
    expect(busy.status).toBe(200);
    expect(busy.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(busy.text).toMatch(/role="alert">Too many sign-ins at once here\. Try again in \d+ seconds?\./);
    expect(busy.text).toContain('autocomplete="current-password"');
    const signup = await browser.post('/authorize/signup', { ...stepFields(signupForm.text), username: uniqueName('busynew'), password: PASSWORD });
    expect(signup.status).toBe(200);
    expect(signup.text).toMatch(/role="alert">Too many sign-ins at once here/);

    release();
    await Promise.all([held, ...queued]);
    const second = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
    expect(second.text).toContain('autocomplete="one-time-code"');
  });
});
