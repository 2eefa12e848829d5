/**
 * Verifying a registration ceremony: WebAuthn Level 3 §7.1 "Registering a New Credential".
 * Steps 1-2 (calling create()) and 27 (the id is not registered to anyone yet: a UNIQUE
 * column) are the caller's; every other step is checked below or named where it is skipped.
 */
import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor';
import { concatBytes, equalBytes, sha256 } from './bytes';
import { checkClientData, parseClientData } from './client-data';
import { storedPublicKey, type CoseAlgorithm } from './cose';
import { isOurRpIdHash, parseAuthData } from './authenticator-data';
import { MAX_CREDENTIAL_ID_BYTES } from './limits';
import type { RegistrationResponse } from './response';
import { refuse, type Refused } from './result';
import { importPublicKey, verifySignature } from './signature';

export type RegistrationExpectation = {
  challenge: Uint8Array;
  rpId: string;
  origins: readonly string[];
  topOrigins?: readonly string[];
};

/** What to store (§7.1 step 28). publicKey is an SPKI for importKey('spki') with `algorithm`. */
export type VerifiedCredential = {
  id: Uint8Array;
  publicKey: Uint8Array;
  algorithm: CoseAlgorithm;
  signCount: number;
  backupEligible: boolean;
  backupState: boolean;
  userVerified: boolean;
  transports: string[];
};

export type RegistrationResult = { ok: true; credential: VerifiedCredential } | Refused;

type AttestationObject = { fmt: string; attStmt: object; authData: Uint8Array };

/** { fmt, attStmt, authData } (§6.5.4), decoded here so the raw authData stays at hand. */
function attestationObject(bytes: Uint8Array): AttestationObject | null {
  let decoded: unknown;
  try {
    decoded = decodeCBORToNativeValueNoLeftoverBytes(bytes, 4);
  } catch {
    return null;
  }
  if (typeof decoded !== 'object' || decoded === null) return null;
  const { fmt, attStmt, authData } = decoded as Record<string, unknown>;
  if (typeof fmt !== 'string' || typeof attStmt !== 'object' || attStmt === null || Array.isArray(attStmt)) return null;
  return authData instanceof Uint8Array ? { fmt, attStmt, authData } : null;
}

/** attStmt of packed self attestation (§8.2): { alg, sig } and no x5c. Null if it is not that. */
function selfAttestation(statement: object): { alg: unknown; sig: Uint8Array } | null {
  const { alg, sig, x5c } = statement as { alg?: unknown; sig?: unknown; x5c?: unknown };
  const keys = Object.keys(statement);
  return sig instanceof Uint8Array && x5c === undefined && keys.length === 2 ? { alg, sig } : null;
}

export async function verifyRegistration(
  input: RegistrationResponse,
  expected: RegistrationExpectation,
): Promise<RegistrationResult> {
  // Steps 5-6: clientDataJSON as UTF-8 JSON. Steps 7-11: type, challenge, origin, crossOrigin, topOrigin.
  const clientData = parseClientData(input.clientDataJSON);
  if (clientData === null) return refuse('malformed');
  const clientDataRefusal = checkClientData(clientData, { ...expected, type: 'webauthn.create' });
  if (clientDataRefusal) return clientDataRefusal;
  // Step 12: the hash of the client data, signed by any attestation.
  const clientDataHash = await sha256(input.clientDataJSON);
  // Step 13: CBOR-decode the attestation object into fmt, authData and attStmt.
  const attestation = attestationObject(input.attestationObject);
  if (attestation === null) return refuse('malformed');
  const authDataBytes = attestation.authData;
  const authData = parseAuthData(authDataBytes);
  if (authData === null || authData.credential === null) return refuse('malformed');
  // Step 14: rpIdHash is SHA-256 of our configured RP ID (SimpleWebAuthn skips this without expectedRPID).
  if (!(await isOurRpIdHash(authData, expected.rpId))) return refuse('rp_id');
  // Step 15: user presence (we never use conditional create, so it is always required).
  if (!authData.flags.userPresent) return refuse('user_presence');
  // Step 16: user verification is preferred, not required: UV = 0 is accepted and reported.
  // Step 17: BS without BE is a contradiction (§6.1.3).
  if (authData.flags.backupState && !authData.flags.backupEligible) return refuse('backup_flags');
  // Steps 18-19: BE and BS are stored for policy and UI (backedUp); nothing else decides on them.
  // Step 20: the key's alg is one we offered in pubKeyCredParams, and the key fits the alg.
  const coseKey = authData.credential.publicKey;
  const key = storedPublicKey(coseKey);
  if (key === null) return refuse('algorithm');
  const cryptoKey = await importPublicKey(key.algorithm, key.spki);
  if (cryptoKey === null) return refuse('public_key');
  // Step 21: we request no extensions; unsolicited outputs are ignored (ED data was checked well formed).
  // Steps 22-25: the formats we support are `none` (what we ask for, attestation: 'none') and
  // `packed` self attestation, which §5.1.3 lets a client pass through unchanged. Its
  // signature is checked; it proves nothing about the authenticator, so trust is the same
  // as `none` (step 25: self attestation, acceptable for a second factor bound to a session).
  const { fmt, attStmt } = attestation;
  if (fmt === 'packed') {
    const self = selfAttestation(attStmt);
    if (self === null || self.alg !== key.algorithm) return refuse('attestation');
    const signed = concatBytes(authDataBytes, clientDataHash);
    if (!(await verifySignature(key.algorithm, cryptoKey, self.sig, signed))) return refuse('signature');
  } else if (fmt !== 'none' || Object.keys(attStmt).length !== 0) {
    return refuse('attestation');
  }
  // Step 26: the credential id is at most 1023 bytes; it is also the rawId the client sent.
  const id = authData.credential.id;
  if (id.length > MAX_CREDENTIAL_ID_BYTES || input.rawId.length > MAX_CREDENTIAL_ID_BYTES) return refuse('credential_id');
  if (!equalBytes(id, input.rawId)) return refuse('credential_id');
  // Step 27 (id unique across users) is the caller's UNIQUE constraint. Step 28: the record.
  // Step 29: nothing is left untrusted (no attestation is relied on).
  return {
    ok: true,
    credential: {
      id,
      publicKey: key.spki,
      algorithm: key.algorithm,
      signCount: authData.signCount,
      backupEligible: authData.flags.backupEligible,
      backupState: authData.flags.backupState,
      userVerified: authData.flags.userVerified,
      transports: input.transports,
    },
  };
}
