/**
 * The sign-in page's only script (a nonce in the CSP), for passwordless sign-in (issue
 * 21). Autofill: while the page shows, a conditional request (mediation "conditional")
 * lets the username field offer this site's passkeys; picking one fills the passkey
 * form's `response` and posts it. "Sign in with a passkey": the same, through the
 * browser's own dialog. Sending the password form instead, or pressing the button,
 * aborts the pending conditional request (AbortController): that abort is no error and
 * shows nothing. Without the L3 JSON helpers the encoding is done by hand. No network
 * request of its own: the forms post.
 */
export const SIGNIN_PASSKEY_SCRIPT = `(() => {
  const form = document.getElementById('signin-passkey-form');
  const source = document.getElementById('signin-passkey-options');
  const passwordForm = document.querySelector('form[action="/authorize/password"]');
  if (!form || !source) return;
  if (typeof window.PublicKeyCredential !== 'function' || !navigator.credentials) { form.hidden = true; return; }
  const status = document.getElementById('signin-passkey-status');
  const b64 = (t) => { const s = t.replace(/-/g, '+').replace(/_/g, '/'); return Uint8Array.from(atob(s + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer; };
  const enc = (b) => b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') : undefined;
  const json = JSON.parse(source.textContent);
  const options = typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
    ? PublicKeyCredential.parseRequestOptionsFromJSON(json)
    : { ...json, challenge: b64(json.challenge) };
  const toJson = (credential) => {
    if (typeof credential.toJSON === 'function') return credential.toJSON();
    const r = credential.response;
    return {
      id: credential.id, rawId: enc(credential.rawId), type: credential.type, authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData), signature: enc(r.signature), userHandle: enc(r.userHandle) },
    };
  };
  let sent = false;
  const send = (credential) => {
    if (sent || !credential) return;
    sent = true;
    form.elements.response.value = JSON.stringify(toJson(credential));
    HTMLFormElement.prototype.submit.call(form);
  };
  let pending = null;
  let settled = Promise.resolve();
  // Resolves once the aborted request has ended, so the browser takes the next one.
  const stopAutofill = () => { if (pending) pending.abort(); pending = null; return settled; };
  const startAutofill = async () => {
    await stopAutofill();
    const check = PublicKeyCredential.isConditionalMediationAvailable;
    let available = false;
    try { available = typeof check === 'function' && await check.call(PublicKeyCredential); } catch { available = false; }
    if (!available || sent) return;
    const controller = new AbortController();
    pending = controller;
    const request = navigator.credentials.get({ publicKey: options, mediation: 'conditional', signal: controller.signal });
    settled = request.then(() => undefined, () => undefined);
    try {
      const credential = await request;
      if (pending === controller) { pending = null; send(credential); }
    } catch {
      // Aborted (the password form was sent, or the button pressed) or nothing picked: nothing to say.
      if (pending === controller) pending = null;
    }
  };
  // The password was chosen over the passkeys in the field's suggestions: the request ends quietly.
  if (passwordForm) passwordForm.addEventListener('submit', stopAutofill);
  form.addEventListener('submit', async (event) => {
    if (sent) return;
    event.preventDefault();
    if (status) status.textContent = '';
    await stopAutofill();
    try {
      send(await navigator.credentials.get({ publicKey: options }));
    } catch {
      if (status) status.textContent = 'No passkey was used: the request was cancelled, timed out, or this device holds no passkey for this site. Try again, or use your password.';
      void startAutofill();
    }
  });
  void startAutofill();
})();`;
