/**
 * Attack: a 43-character HMAC tag whose last character has its unused low bits set.
 *
 * The story (found while testing the provider's passwordless sign-in, issue 21): every
 * HMAC tag we check (a refresh token's, the provider's CSRF token, its ticket, its session
 * cookie, the logout confirmation) is first matched against /^[A-Za-z0-9_-]{43}$/, then
 * decoded with @oslojs/encoding's decodeBase64urlIgnorePadding, which throws "Invalid
 * padding" when the 43rd character carries bits past the 32 bytes ('x' does; the suite's
 * forgeries used 'A', which does not). The throw escaped as a 500 internal_error: anyone
 * could turn a refused forgery into a 5xx (and an error line in the log) on /refresh, on
 * every hosted page's POST, and on any page through the provider's cookie. API.md: no
 * client mistake yields a 5xx. Each is now the refusal of any other forged tag.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, setNow, useRealTime } from '../helpers';
import { authorizePath, Browser, opEnv, PASSWORD, pkce, registerClient, stepFields, T0 } from '../features/oidc/support';

afterEach(useRealTime);

const workerEnv = opEnv();
const NONCANONICAL = 'x'.repeat(43);

describe('a tag with stray low bits is refused like any forged tag, never a 500', () => {
  it('a refresh token: 401 invalid_refresh_token', async () => {
    const r = await call('/refresh', { json: { refreshToken: `rt1.00000000-0000-4000-8000-000000000000.0.${NONCANONICAL}` } });
    expect([r.status, r.body.error]).toEqual([401, 'invalid_refresh_token']);
  });

  it('the hosted pages: a CSRF token, a ticket and the provider cookie', async () => {
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0);
    const browser = new Browser(workerEnv);
    const page = await browser.get(authorizePath(client.clientId, challenge));
    const fields = { ...stepFields(page.text), username: 'someone', password: PASSWORD };
    expect((await browser.post('/authorize/password', { ...fields, csrf: NONCANONICAL })).status).toBe(403);
    const body = fields.ticket.split('.')[0]!;
    const forgedTicket = await browser.post('/authorize/password', { ...fields, ticket: `${body}.${NONCANONICAL}` });
    expect(forgedTicket.status).toBe(400);
    browser.jar.set('__Host-edge-mfa-op', `00000000-0000-4000-8000-000000000000.${NONCANONICAL}`);
    const withCookie = await browser.get(authorizePath(client.clientId, challenge));
    expect(withCookie.status).toBe(200);
    expect(withCookie.text).toContain('id="password"');
  });
});
