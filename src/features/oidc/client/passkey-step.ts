/**
 * The second-factor passkey step's script (the hosted page of /authorize/password's
 * answer, when the account has a passkey): on the passkey form's submit it asks the
 * browser for an assertion (navigator.credentials.get with the options the server
 * embedded as JSON), writes its JSON into the form and submits it. No network request
 * of its own: the form posts. Built by scripts/build-page.mjs into a static asset.
 */
import { fillResponse, requestOptions } from './webauthn-json';

function start(): void {
  const form = document.getElementById('passkey-form') as HTMLFormElement | null;
  const source = document.getElementById('passkey-options');
  if (!form || !source || typeof window.PublicKeyCredential !== 'function') return;
  const options = requestOptions(JSON.parse(source.textContent ?? ''));
  let ready = false;
  form.addEventListener('submit', async (event) => {
    if (ready) return;
    event.preventDefault();
    const status = document.getElementById('passkey-status');
    try {
      const credential = await navigator.credentials.get({ publicKey: options });
      if (!credential) throw new Error('no assertion');
      fillResponse(form, credential);
      ready = true;
      form.requestSubmit();
    } catch {
      if (status) status.textContent = 'The passkey was not used. Try again, or use a code.';
    }
  });
}

start();
