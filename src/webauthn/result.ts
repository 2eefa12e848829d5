/**
 * Why a WebAuthn response was refused. Expected failures are values: the route maps any of
 * them to its 4xx, the log gets the specific reason, the client a generic message.
 */
export type WebAuthnFailure =
  | 'malformed' // not base64url / JSON / CBOR, a field missing, too long or of the wrong type
  | 'type' // clientData.type is not the ceremony's
  | 'challenge' // not the challenge this ceremony issued
  | 'origin' // not one of the configured origins
  | 'cross_origin' // clientData.crossOrigin is true (we are never framed)
  | 'top_origin' // clientData.topOrigin present and not allowed
  | 'rp_id' // rpIdHash is not SHA-256 of the configured RP ID
  | 'user_presence' // UP flag not set
  | 'backup_flags' // BS set without BE
  | 'backup_eligibility' // BE differs from the value stored at registration
  | 'algorithm' // a COSE key or algorithm we did not offer, or a key inconsistent with it
  | 'public_key' // the key does not import (not on the curve, RSA too small, ...)
  | 'attestation' // an attestation format other than none / packed self attestation
  | 'credential_id' // longer than 1023 bytes, or rawId/id/authData disagree
  | 'credential_not_allowed' // not in allowCredentials, or not the stored credential
  | 'user_handle' // userHandle present and not the user's
  | 'signature' // the signature does not verify
  | 'counter'; // signature counter went backwards on a device-bound (BE = 0) credential

export type Refused = { ok: false; reason: WebAuthnFailure };

export function refuse(reason: WebAuthnFailure): Refused {
  return { ok: false, reason };
}
