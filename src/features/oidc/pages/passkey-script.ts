/**
 * The passkey step's only script (a nonce in the CSP): on the passkey form's
 * submit it asks the browser for an assertion (navigator.credentials.get with
 * the options the server embedded as JSON), writes the WebAuthn L3 JSON of the
 * answer into the form and submits it. Without the L3 JSON helpers the same
 * encoding is done by hand. No network request of its own: the form posts.
 */
export const PASSKEY_SCRIPT = `(() => {
  const form = document.getElementById('passkey-form');
  const source = document.getElementById('passkey-options');
  if (!form || !source || typeof window.PublicKeyCredential !== 'function') return;
  const b64 = (t) => { const s = t.replace(/-/g, '+').replace(/_/g, '/'); return Uint8Array.from(atob(s + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer; };
  const enc = (b) => b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') : undefined;
  const json = JSON.parse(source.textContent);
  const options = typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
    ? PublicKeyCredential.parseRequestOptionsFromJSON(json)
    : { ...json, challenge: b64(json.challenge), allowCredentials: (json.allowCredentials || []).map((d) => ({ ...d, id: b64(d.id) })) };
  let ready = false;
  form.addEventListener('submit', async (event) => {
    if (ready) return;
    event.preventDefault();
    const status = document.getElementById('passkey-status');
    try {
      const credential = await navigator.credentials.get({ publicKey: options });
      const r = credential.response;
      const answer = typeof credential.toJSON === 'function' ? credential.toJSON() : {
        id: credential.id, rawId: enc(credential.rawId), type: credential.type, authenticatorAttachment: credential.authenticatorAttachment || undefined,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData), signature: enc(r.signature), userHandle: enc(r.userHandle) },
      };
      form.elements.response.value = JSON.stringify(answer);
      ready = true;
      form.requestSubmit();
    } catch (error) {
      if (status) status.textContent = 'The passkey was not used. Try again, or use a code.';
    }
  });
})();`;
