/**
 * The JSON a browser's PublicKeyCredential.toJSON() sends (WebAuthn L3 §5.1,
 * RegistrationResponseJSON / AuthenticationResponseJSON), checked for shape and size and
 * decoded from base64url. Unknown members (clientExtensionResults, authenticatorAttachment,
 * the L3 convenience fields publicKey / publicKeyAlgorithm) are ignored: we request no
 * extensions and read the key only from the signed authenticator data.
 */
import { decodeBase64urlBounded, equalBytes } from './bytes';
import {
  MAX_ATTESTATION_OBJECT_BYTES,
  MAX_AUTHENTICATOR_DATA_BYTES,
  MAX_CLIENT_DATA_BYTES,
  MAX_PARSED_CREDENTIAL_ID_BYTES,
  MAX_SIGNATURE_BYTES,
  MAX_TRANSPORTS,
  MAX_TRANSPORT_CHARS,
  MAX_USER_HANDLE_BYTES,
} from './limits';
import { refuse, type Refused } from './result';

export type RegistrationResponse = {
  rawId: Uint8Array;
  clientDataJSON: Uint8Array;
  attestationObject: Uint8Array;
  transports: string[];
};

export type AuthenticationResponse = {
  rawId: Uint8Array;
  clientDataJSON: Uint8Array;
  authenticatorData: Uint8Array;
  signature: Uint8Array;
  userHandle: Uint8Array | null;
};

type Parsed<T> = { ok: true; response: T } | Refused;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** id and rawId are the same bytes (§5.1: id is base64url(rawId)); type is 'public-key'. */
function credentialId(json: Record<string, unknown>): Uint8Array | null {
  const id = decodeBase64urlBounded(json.id, MAX_PARSED_CREDENTIAL_ID_BYTES);
  const rawId = decodeBase64urlBounded(json.rawId, MAX_PARSED_CREDENTIAL_ID_BYTES);
  if (id === null || rawId === null || !equalBytes(id, rawId) || rawId.length === 0) return null;
  return json.type === 'public-key' ? rawId : null;
}

const TRANSPORT = /^[a-z][a-z0-9-]*$/;

function transports(value: unknown): string[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_TRANSPORTS) return null;
  const names = value.filter((item): item is string => typeof item === 'string' && item.length <= MAX_TRANSPORT_CHARS && TRANSPORT.test(item));
  return names.length === value.length ? [...new Set(names)] : null;
}

/** L3 §7.1 step 3: an AuthenticatorAttestationResponse, here in its JSON form. */
export function parseRegistrationResponse(json: unknown): Parsed<RegistrationResponse> {
  if (!isRecord(json) || !isRecord(json.response)) return refuse('malformed');
  const rawId = credentialId(json);
  const clientDataJSON = decodeBase64urlBounded(json.response.clientDataJSON, MAX_CLIENT_DATA_BYTES);
  const attestationObject = decodeBase64urlBounded(json.response.attestationObject, MAX_ATTESTATION_OBJECT_BYTES);
  const names = transports(json.response.transports);
  if (rawId === null || clientDataJSON === null || attestationObject === null || names === null) return refuse('malformed');
  return { ok: true, response: { rawId, clientDataJSON, attestationObject, transports: names } };
}

/** L3 §7.2 step 3: an AuthenticatorAssertionResponse, here in its JSON form. */
export function parseAuthenticationResponse(json: unknown): Parsed<AuthenticationResponse> {
  if (!isRecord(json) || !isRecord(json.response)) return refuse('malformed');
  const { response } = json;
  const rawId = credentialId(json);
  const clientDataJSON = decodeBase64urlBounded(response.clientDataJSON, MAX_CLIENT_DATA_BYTES);
  const authenticatorData = decodeBase64urlBounded(response.authenticatorData, MAX_AUTHENTICATOR_DATA_BYTES);
  const signature = decodeBase64urlBounded(response.signature, MAX_SIGNATURE_BYTES);
  // userHandle is optional (absent or null); when present it must decode.
  const absent = response.userHandle === undefined || response.userHandle === null;
  const userHandle = absent ? null : decodeBase64urlBounded(response.userHandle, MAX_USER_HANDLE_BYTES);
  if (rawId === null || clientDataJSON === null || authenticatorData === null || signature === null) return refuse('malformed');
  if (!absent && userHandle === null) return refuse('malformed');
  return { ok: true, response: { rawId, clientDataJSON, authenticatorData, signature, userHandle } };
}
