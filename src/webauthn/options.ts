/**
 * The options a browser passes to navigator.credentials.create() / get(), in the JSON form of
 * WebAuthn L3 §5.4 / §5.5 (PublicKeyCredential.parseCreationOptionsFromJSON() takes them as is).
 */
import { base64url } from './bytes';
import { SUPPORTED_ALGORITHMS } from './cose';

/** §5.4 timeout, a hint to the client: the same 5 minutes our challenges live. */
export const CEREMONY_TIMEOUT_MILLISECONDS = 300_000;

export type CredentialDescriptorJSON = { type: 'public-key'; id: string; transports?: string[] };

export type CreationOptionsJSON = {
  rp: { id: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: { type: 'public-key'; alg: number }[];
  timeout: number;
  excludeCredentials: CredentialDescriptorJSON[];
  authenticatorSelection: { residentKey: 'preferred'; requireResidentKey: false; userVerification: 'preferred' };
  attestation: 'none';
};

export type RequestOptionsJSON = {
  challenge: string;
  timeout: number;
  rpId: string;
  allowCredentials: CredentialDescriptorJSON[];
  userVerification: 'preferred';
};

/**
 * §5.5 for a discoverable credential (passwordless sign-in): no allowCredentials, so the
 * authenticator offers the passkeys it holds for this RP and returns the user handle;
 * UV required (the passkey is both factors: something held, unlocked by something known or are).
 */
export type DiscoverableRequestOptionsJSON = Omit<RequestOptionsJSON, 'allowCredentials' | 'userVerification'> & { userVerification: 'required' };

export type CredentialDescriptor = { id: Uint8Array; transports?: readonly string[] };

function descriptors(credentials: readonly CredentialDescriptor[]): CredentialDescriptorJSON[] {
  return credentials.map(({ id, transports }) => ({
    type: 'public-key',
    id: base64url(id),
    ...(transports && transports.length > 0 ? { transports: [...transports] } : {}),
  }));
}

export function creationOptions(input: {
  rpId: string;
  rpName: string;
  /** The user handle: opaque, at most 64 bytes, no personal data (§14.6.1). */
  userId: Uint8Array;
  userName: string;
  userDisplayName?: string;
  challenge: Uint8Array;
  /** §5.4.3 excludeCredentials: the user's existing credentials, so one authenticator is not added twice. */
  excludeCredentials: readonly CredentialDescriptor[];
}): CreationOptionsJSON {
  return {
    rp: { id: input.rpId, name: input.rpName },
    user: { id: base64url(input.userId), name: input.userName, displayName: input.userDisplayName ?? input.userName },
    challenge: base64url(input.challenge),
    // Ed25519 first, then ES256 (every platform), then RS256 (Windows Hello): §5.4 order is preference.
    pubKeyCredParams: SUPPORTED_ALGORITHMS.map((alg) => ({ type: 'public-key', alg })),
    timeout: CEREMONY_TIMEOUT_MILLISECONDS,
    excludeCredentials: descriptors(input.excludeCredentials),
    authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'preferred' },
    attestation: 'none',
  };
}

export function requestOptions(input: {
  rpId: string;
  challenge: Uint8Array;
  /** §5.5 allowCredentials: this user's credentials only (the user is known from the password step). */
  allowCredentials: readonly CredentialDescriptor[];
}): RequestOptionsJSON {
  return {
    challenge: base64url(input.challenge),
    timeout: CEREMONY_TIMEOUT_MILLISECONDS,
    rpId: input.rpId,
    allowCredentials: descriptors(input.allowCredentials),
    userVerification: 'preferred',
  };
}

export function discoverableRequestOptions(input: { rpId: string; challenge: Uint8Array }): DiscoverableRequestOptionsJSON {
  return { challenge: base64url(input.challenge), timeout: CEREMONY_TIMEOUT_MILLISECONDS, rpId: input.rpId, userVerification: 'required' };
}
