/**
 * Passwordless sign-in on the account step (issue 21): the "Sign in with a passkey"
 * button, and autofill: the username field has autocomplete="username webauthn", and
 * while the account step shows, a conditional request (mediation: "conditional") waits
 * for the person to pick a passkey from the field's suggestions. Typing a password and
 * submitting, or pressing the button, aborts it (AbortController): that abort is no error
 * and shows nothing. Kept to this module so the rest of the page only calls its hooks.
 */
import { api, Failure, setToken, type Verified } from './api';
import type { PasskeySigninOptions } from './api-types';
import { getPasskey, PasskeyCancelled, passkeysSupported } from './passkeys';
import { run, setError } from './view';

const REFUSED = 'That passkey was not accepted for signing in. It may have been added without a PIN or fingerprint (then it only works after the password), or removed. Use your password instead.';
const CANCELLED = 'No passkey was used: the request was cancelled, timed out, or this device holds no passkey for this site.';

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

const form = byId('signin-passkey-form', HTMLFormElement);

/** The conditional request in flight, if any; `generation` tells a start overtaken by a stop. */
let autofill: AbortController | null = null;
let generation = 0;
let signedIn: (verified: Verified) => Promise<void> = async () => {};

/** options, get(), verify: one sign-in. `signal` set: the autofill's conditional request. */
async function signIn(mediation: 'conditional' | 'optional', signal?: AbortSignal): Promise<Verified> {
  const options = await api<PasskeySigninOptions>('POST', '/webauthn/signin/options');
  const response = await getPasskey(options.publicKey, { mediation, signal });
  try {
    return await api<Verified>('POST', '/webauthn/signin/verify', { challengeId: options.challengeId, response });
  } catch (caught) {
    if (caught instanceof Failure && caught.code === 'invalid_credentials') throw new Failure('passkey_refused', REFUSED);
    throw caught;
  }
}

async function conditionalAvailable(): Promise<boolean> {
  const check = (PublicKeyCredential as unknown as { isConditionalMediationAvailable?: () => Promise<boolean> }).isConditionalMediationAvailable;
  try {
    return typeof check === 'function' && (await check.call(PublicKeyCredential));
  } catch {
    return false;
  }
}

/** Stops the autofill's pending request, if any: the person chose the password (or the button). */
export function stopPasskeyAutofill(): void {
  generation += 1;
  autofill?.abort();
  autofill = null;
}

/** Starts (again) the autofill's conditional request, while the account step shows. */
export async function startPasskeyAutofill(): Promise<void> {
  stopPasskeyAutofill();
  const mine = generation;
  if (!passkeysSupported() || !(await conditionalAvailable()) || generation !== mine) return;
  const controller = new AbortController();
  autofill = controller;
  try {
    const verified = await signIn('conditional', controller.signal);
    if (autofill !== controller) return;
    autofill = null;
    await signedIn(verified);
  } catch (caught) {
    // Aborted (a password was typed, the button pressed) or no passkey picked: nothing to say.
    if (controller.signal.aborted || caught instanceof PasskeyCancelled) return;
    if (autofill === controller) autofill = null;
    // Shown beside the passkey button (the page's one alert region is gone: messages sit by their action).
    setError(caught instanceof Failure ? caught.message : REFUSED, undefined, form);
  }
}

/** Wires the button and the autofill; `onSignedIn` receives the tokens, as after a second step. */
export function setupPasskeySignin(onSignedIn: (verified: Verified) => Promise<void>): void {
  signedIn = onSignedIn;
  form.hidden = !passkeysSupported();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    stopPasskeyAutofill();
    void run(form, form, async () => {
      setToken(null);
      let verified: Verified;
      try {
        verified = await signIn('optional');
      } catch (caught) {
        // The field's suggestions come back for another try.
        void startPasskeyAutofill();
        if (caught instanceof PasskeyCancelled) throw new Failure('passkey_cancelled', CANCELLED);
        throw caught;
      }
      await onSignedIn(verified);
      return null;
    });
  });
  void startPasskeyAutofill();
}
