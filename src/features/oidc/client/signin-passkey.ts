/**
 * The provider's sign-in page's script, for passwordless sign-in (issue 21). Autofill:
 * while the page shows, a conditional request (mediation "conditional") lets the
 * username field offer this site's passkeys; picking one fills the passkey form's
 * `response` and posts it. "Sign in with a passkey": the same through the browser's
 * dialog. Sending the password form, or pressing the button, aborts the pending
 * conditional request (AbortController) and waits for it to end (`settled`), so the
 * browser takes the next one; an abort, or nothing picked, shows nothing. A browser
 * without WebAuthn hides the passkey form. No network request of its own: the forms
 * post. Built by scripts/build-page.mjs into a static asset.
 */
import { fillResponse, requestOptions } from './webauthn-json';

const CANCELLED = 'No passkey was used: the request was cancelled, timed out, or this device holds no passkey for this site. Try again, or use your password.';

function start(): void {
  const form = document.getElementById('signin-passkey-form') as HTMLFormElement | null;
  const source = document.getElementById('signin-passkey-options');
  if (!form || !source) return;
  if (typeof window.PublicKeyCredential !== 'function' || !navigator.credentials) {
    form.hidden = true;
    return;
  }
  const options = requestOptions(JSON.parse(source.textContent ?? ''));
  const status = document.getElementById('signin-passkey-status');
  let sent = false;
  let pending: AbortController | null = null;
  let settled: Promise<void> = Promise.resolve();

  // The form's own submit() (not requestSubmit): no submit event, so no second request.
  const send = (credential: Credential | null) => {
    if (sent || !credential) return;
    sent = true;
    fillResponse(form, credential);
    HTMLFormElement.prototype.submit.call(form);
  };
  const stop = () => {
    if (pending) pending.abort();
    pending = null;
    return settled;
  };
  const autofill = async () => {
    await stop();
    const check = PublicKeyCredential.isConditionalMediationAvailable;
    let ok = false;
    try {
      ok = typeof check === 'function' && (await check.call(PublicKeyCredential));
    } catch {
      ok = false;
    }
    if (!ok || sent) return;
    const controller = new AbortController();
    pending = controller;
    const request = navigator.credentials.get({ publicKey: options, mediation: 'conditional', signal: controller.signal });
    settled = request.then(
      () => undefined,
      () => undefined,
    );
    try {
      const credential = await request;
      if (pending === controller) {
        pending = null;
        send(credential);
      }
    } catch {
      if (pending === controller) pending = null;
    }
  };

  const password = document.querySelector('form[action="/authorize/password"]');
  if (password) password.addEventListener('submit', stop);
  form.addEventListener('submit', async (event) => {
    if (sent) return;
    event.preventDefault();
    if (status) status.textContent = '';
    await stop();
    try {
      send(await navigator.credentials.get({ publicKey: options }));
    } catch {
      if (status) status.textContent = CANCELLED;
      void autofill();
    }
  });
  void autofill();
}

start();
