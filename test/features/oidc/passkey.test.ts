import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtPayload, setNow, staticAsset, useRealTime } from '../../helpers';
import { PASSKEY_SCRIPT, SIGNIN_PASSKEY_SCRIPT } from '../../../src/features/oidc/pages/scripts.generated';
import { handleOf, passkeyUser, RP_ID, ORIGIN } from '../passkeys/support';
import { authorizePath, Browser, exchangeCode, opEnv, PASSWORD, pkce, registerClient, stepFields, T0 } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();

function embeddedOptions(html: string): { challengeId: string; challenge: Uint8Array } {
  const json = /<script type="application\/json" id="passkey-options">([^<]*)<\/script>/.exec(html)![1]!;
  const challenge = JSON.parse(json).challenge as string;
  const bytes = Uint8Array.from(atob(challenge.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (challenge.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
  return { challengeId: /name="challengeId" value="([^"]+)"/.exec(html)![1]!, challenge: bytes };
}

describe('a passkey as the second factor on the hosted pages', () => {
  it('password, then the passkey button: a code whose ID token says pop, hwk and phrh for a device-bound key', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { verifier, challenge } = await pkce();
    const browser = new Browser(workerEnv);
    setNow(T0 + 30);
    const start = await browser.get(authorizePath(client.clientId, challenge));
    const second = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
    expect(second.text).toMatch(/<button type="submit" name="passkey" value="1">/);
    expect(second.text).not.toContain('autocomplete="one-time-code"');
    const csp = second.headers.get('Content-Security-Policy')!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    // The passkey step's script: a file of the static assets (src/features/oidc/client/passkey-step.ts), under the nonce.
    expect(second.text).toContain(`<script src="${PASSKEY_SCRIPT.path}" integrity="${PASSKEY_SCRIPT.integrity}" nonce="${nonce}"></script>`);
    const offer = embeddedOptions(second.text);
    // Story: an assertion for another challenge (replayed from elsewhere) is refused, the same form again.
    const stale = await user.authenticator.assert(new Uint8Array(32), { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(user.id) });
    const refused = await browser.post('/authorize/passkey', { ...stepFields(second.text), challengeId: offer.challengeId, response: JSON.stringify(stale) });
    expect(refused.text).toMatch(/role="alert">The passkey was refused/);
    const again = embeddedOptions(refused.text);
    const response = await user.authenticator.assert(again.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(user.id) });
    const done = await browser.post('/authorize/passkey', { ...stepFields(refused.text), challengeId: again.challengeId, response: JSON.stringify(response) });
    expect(done.status, done.text.slice(0, 400)).toBe(303);
    const tokens = await exchangeCode(workerEnv, client, verifier, done.location);
    expect(decodeJwtPayload(tokens.json.id_token as string)).toMatchObject({ amr: ['pwd', 'pop', 'hwk'], acr: 'phrh' });
  });
});

describe("the hosted pages' scripts, files of the static assets", () => {
  it('are served as their integrity attribute says, as JavaScript, never sniffed, cached for good; they post forms and fetch nothing', async () => {
    for (const script of [PASSKEY_SCRIPT, SIGNIN_PASSKEY_SCRIPT]) {
      expect(script.path).toMatch(/^\/assets\/oidc-(passkey|signin)\.[0-9a-f]{16}\.js$/);
      const asset = await staticAsset(script.path);
      expect(asset.status, script.path).toBe(200);
      expect(asset.headers.get('Content-Type'), script.path).toMatch(/^(text|application)\/javascript/);
      expect(asset.headers.get('X-Content-Type-Options'), script.path).toBe('nosniff');
      expect(asset.headers.get('Cache-Control'), script.path).toContain('immutable');
      // A browser refuses the file if these differ (Subresource Integrity).
      const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-384', asset.bytes))));
      expect(script.integrity, script.path).toBe(`sha384-${digest}`);
      expect(asset.text, script.path).toContain('navigator.credentials.get(');
      expect(asset.text, script.path).not.toMatch(/fetch\(|XMLHttpRequest|localStorage|sessionStorage|document\.cookie/);
    }
  });
});
