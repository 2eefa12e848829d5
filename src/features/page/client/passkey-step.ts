/**
 * A passkey ceremony's failures in the page's words: cancelled in the
 * browser, refused for this address (an IP, or not the server's RP ID), or
 * refused by the server. Shared by sign-in, enrollment and the step-up prompt.
 */
import { api, Failure, type PasskeyOptions, type Verified } from './api';
import { passkeyHostProblem } from './host';
import { messageFor } from './messages';
import { getPasskey, PasskeyCancelled, PasskeyWrongHost } from './passkeys';

const WRONG_HOST_MESSAGE =
  'This browser refused passkeys at this address: it is not the site the server’s passkeys belong to (WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS). Open the page at the address the server is set up for.';

export async function passkeyStep<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (caught) {
    const hostProblem = passkeyHostProblem();
    if ((caught instanceof PasskeyCancelled || caught instanceof PasskeyWrongHost) && hostProblem) throw new Failure('passkey_host', hostProblem);
    if (caught instanceof PasskeyWrongHost) throw new Failure('passkey_host', WRONG_HOST_MESSAGE);
    if (caught instanceof PasskeyCancelled) throw new Failure('passkey_cancelled', messageFor('passkey_cancelled')!);
    if (caught instanceof Failure && caught.code === 'invalid_code') throw new Failure('passkey_refused', messageFor('passkey_refused')!);
    throw caught;
  }
}

/**
 * Proves a passkey of this account: options (with whatever token is held:
 * password-only for sign-in, full for a step-up), the browser's ceremony,
 * then `verify` with the challenge and the assertion.
 */
export function provePasskey<T>(verify: (proof: { challengeId: string; response: Record<string, unknown> }) => Promise<T>): Promise<T> {
  return passkeyStep(async () => {
    const options = await api<PasskeyOptions>('POST', '/webauthn/login/options');
    const response = await getPasskey(options.publicKey);
    return verify({ challengeId: options.challengeId, response });
  });
}

export type { Verified };
