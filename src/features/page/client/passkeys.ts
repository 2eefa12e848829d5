/**
 * Passkeys in the browser: the JSON options of /webauthn/.../options turned into
 * what navigator.credentials.create() / get() take, and the credential back to the
 * JSON the API reads (WebAuthn L3 §5.1 toJSON). Browsers without the L3 JSON helpers
 * (PublicKeyCredential.parseCreationOptionsFromJSON, toJSON) get the same by hand.
 */

type Json = Record<string, unknown>;

function fromBase64url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer: ArrayBuffer | null): string | undefined {
  if (buffer === null) return undefined;
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

type Descriptor = { type: 'public-key'; id: string; transports?: string[] };

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] {
  return (Array.isArray(list) ? (list as Descriptor[]) : []).map((d) => ({ type: 'public-key', id: fromBase64url(d.id), transports: d.transports as AuthenticatorTransport[] | undefined }));
}

/** True when this browser offers WebAuthn at all (a secure context with PublicKeyCredential). */
export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential === 'function' && window.isSecureContext;
}

type L3Static = {
  parseCreationOptionsFromJSON?: (json: Json) => PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON?: (json: Json) => PublicKeyCredentialRequestOptions;
};

function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const l3 = PublicKeyCredential as unknown as L3Static;
  if (typeof l3.parseCreationOptionsFromJSON === 'function') return l3.parseCreationOptionsFromJSON(json);
  const user = json.user as { id: string; name: string; displayName: string };
  return {
    ...(json as unknown as PublicKeyCredentialCreationOptions),
    challenge: fromBase64url(json.challenge as string),
    user: { ...user, id: fromBase64url(user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  const l3 = PublicKeyCredential as unknown as L3Static;
  if (typeof l3.parseRequestOptionsFromJSON === 'function') return l3.parseRequestOptionsFromJSON(json);
  return { ...(json as unknown as PublicKeyCredentialRequestOptions), challenge: fromBase64url(json.challenge as string), allowCredentials: descriptors(json.allowCredentials) };
}

/** The credential as RegistrationResponseJSON / AuthenticationResponseJSON. */
function credentialJSON(credential: PublicKeyCredential): Json {
  const withJson = credential as unknown as { toJSON?: () => Json };
  if (typeof withJson.toJSON === 'function') return withJson.toJSON();
  const response = credential.response;
  const common = { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, clientExtensionResults: {} };
  if (response instanceof AuthenticatorAttestationResponse) {
    return {
      ...common,
      response: { clientDataJSON: toBase64url(response.clientDataJSON), attestationObject: toBase64url(response.attestationObject), transports: response.getTransports() },
    };
  }
  const assertion = response as AuthenticatorAssertionResponse;
  return {
    ...common,
    response: {
      clientDataJSON: toBase64url(assertion.clientDataJSON),
      authenticatorData: toBase64url(assertion.authenticatorData),
      signature: toBase64url(assertion.signature),
      userHandle: toBase64url(assertion.userHandle),
    },
  };
}

/** A ceremony the person cancelled, or that no authenticator could answer. */
export class PasskeyCancelled extends Error {}

/** The browser refused the ceremony for this address: an IP, or a host that is not the server's RP ID (SecurityError). */
export class PasskeyWrongHost extends Error {}

async function ceremony(run: () => Promise<Credential | null>): Promise<Json> {
  let credential: Credential | null;
  try {
    credential = await run();
  } catch (caught) {
    if (caught instanceof DOMException && caught.name === 'SecurityError') throw new PasskeyWrongHost();
    throw new PasskeyCancelled();
  }
  if (!(credential instanceof PublicKeyCredential)) throw new PasskeyCancelled();
  return credentialJSON(credential);
}

export function createPasskey(publicKey: Json): Promise<Json> {
  return ceremony(() => navigator.credentials.create({ publicKey: creationOptions(publicKey) }));
}

/** `mediation: "conditional"` with a `signal`: the autofill's request (signin-passkey.ts). */
export function getPasskey(publicKey: Json, extra: { mediation?: CredentialMediationRequirement; signal?: AbortSignal } = {}): Promise<Json> {
  return ceremony(() => navigator.credentials.get({ publicKey: requestOptions(publicKey), ...extra }));
}
