/**
 * Upper bounds on client-supplied fields, checked before any decoding so a hostile body
 * costs at most a few KiB of work. Real responses are far below them.
 */

/** clientDataJSON of real browsers is 150-300 bytes; 4 KiB leaves room for extra members. */
export const MAX_CLIENT_DATA_BYTES = 4096;
/** attestationObject: ~300 bytes for EC, ~600 for RSA-4096, plus an id of up to 1023 bytes. */
export const MAX_ATTESTATION_OBJECT_BYTES = 8192;
/** authenticatorData of an assertion: 37 bytes plus any extension outputs. */
export const MAX_AUTHENTICATOR_DATA_BYTES = 2048;
/** An RSA-4096 signature is 512 bytes; a DER ECDSA P-256 one at most 72. */
export const MAX_SIGNATURE_BYTES = 1024;
/** WebAuthn L3 §5.4.3: user.id is at most 64 bytes. */
export const MAX_USER_HANDLE_BYTES = 64;
/** L3 §7.1 step 26: a credential id is at most 1023 bytes (checked as its own reason). */
export const MAX_CREDENTIAL_ID_BYTES = 1023;
/** Parsing accepts ids a little above the limit so the verifier can name the reason. */
export const MAX_PARSED_CREDENTIAL_ID_BYTES = 1536;
/** A challenge we issue is 32 bytes; anything much longer is not ours. */
export const MAX_CHALLENGE_BYTES = 64;
/** Transports from getTransports(): a handful of short names. */
export const MAX_TRANSPORTS = 8;
export const MAX_TRANSPORT_CHARS = 32;
/** RSA keys we accept, in bits: below 2048 is weak, above 4096 only costs verify time. */
export const MIN_RSA_MODULUS_BITS = 2048;
export const MAX_RSA_MODULUS_BITS = 4096;
