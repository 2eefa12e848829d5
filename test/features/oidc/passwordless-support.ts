/**
 * The provider's sign-in page's passkey form (issue 21), as its script drives it:
 * the options the page embeds, and the assertion it posts to
 * POST /authorize/passkey-signin. Shared by oidc/passwordless.test.ts and the
 * factor-events walk (test/security/factor-events.test.ts).
 */
import { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { handleOf, ORIGIN, RP_ID } from '../passkeys/support';
import { freshIp } from '../passkeys/signin-support';
import { stepFields, type Answer, type Browser } from './support';

/** The sign-in options the page embeds for its passkey form. */
export function signinOffer(html: string): { challengeId: string; challenge: Uint8Array; publicKey: Record<string, unknown> } {
  const json = /<script type="application\/json" id="signin-passkey-options">([^<]*)<\/script>/.exec(html)![1]!;
  const publicKey = JSON.parse(json) as Record<string, unknown> & { challenge: string };
  const value = publicKey.challenge;
  const challenge = Uint8Array.from(atob(value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
  const form = /<form id="signin-passkey-form"[\s\S]*?<\/form>/.exec(html)![0];
  return { challengeId: /name="challengeId" value="([^"]+)"/.exec(form)![1]!, challenge, publicKey };
}

export type Forge = Parameters<SoftwareAuthenticator['assert']>[1];

/** What the page's script posts after the browser's get(): the assertion of a discoverable passkey. */
export async function passkeySignin(browser: Browser, page: Answer, authenticator: SoftwareAuthenticator, userId: string, forge: Forge = {}, ip = freshIp()) {
  const offer = signinOffer(page.text);
  const response = await authenticator.assert(offer.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(userId), ...forge });
  const fields = { ...stepFields(page.text), challengeId: offer.challengeId, response: JSON.stringify(response) };
  return { fields, answer: await browser.post('/authorize/passkey-signin', fields, { 'Sec-Fetch-Site': 'same-origin', 'CF-Connecting-IP': ip }) };
}

