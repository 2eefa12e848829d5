/**
 * The WebAuthn L3 JSON of request options and of an assertion, for the hosted pages'
 * two scripts (passkey-step.ts, signin-passkey.ts): the browser's own
 * (PublicKeyCredential.parseRequestOptionsFromJSON, credential.toJSON) where it has
 * them, by hand where it does not.
 */

type Json = Record<string, unknown>;

function fromBase64url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer: ArrayBuffer | null): string | undefined {
  return buffer ? btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : undefined;
}

type L3Static = { parseRequestOptionsFromJSON?: (json: Json) => PublicKeyCredentialRequestOptions };

/** The options the server embedded (JSON in a non-executed script element) as navigator.credentials.get() takes them. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  const l3 = PublicKeyCredential as unknown as L3Static;
  if (typeof l3.parseRequestOptionsFromJSON === 'function') return l3.parseRequestOptionsFromJSON(json);
  const allowed = (json.allowCredentials as { id: string }[] | undefined) || [];
  return { ...(json as unknown as PublicKeyCredentialRequestOptions), challenge: fromBase64url(json.challenge as string), allowCredentials: allowed.map((d) => ({ ...d, id: fromBase64url(d.id) })) as PublicKeyCredentialDescriptor[] };
}

/** The assertion as AuthenticationResponseJSON, what the form's `response` field carries. */
export function assertionJson(credential: PublicKeyCredential): Json {
  const withJson = credential as unknown as { toJSON?: () => Json };
  if (typeof withJson.toJSON === 'function') return withJson.toJSON();
  const r = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toBase64url(r.clientDataJSON), authenticatorData: toBase64url(r.authenticatorData), signature: toBase64url(r.signature), userHandle: toBase64url(r.userHandle) },
  };
}

/** Puts the assertion's JSON into the form's `response` field. */
export function fillResponse(form: HTMLFormElement, credential: Credential): void {
  (form.elements.namedItem('response') as HTMLInputElement).value = JSON.stringify(assertionJson(credential as PublicKeyCredential));
}
