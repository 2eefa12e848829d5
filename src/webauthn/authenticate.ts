/**
 * Verifying an assertion: WebAuthn Level 3 §7.2 "Verifying an Authentication Assertion".
 * Steps 1-2 (calling get()) and 26 (storing the new counter and backup state, by
 * compare-and-swap on the old counter) are the caller's; every other step is below.
 */
import { timingSafeEqual } from '../crypto/compare';
import { concatBytes, equalBytes, sha256 } from './bytes';
import { checkClientData, parseClientData } from './client-data';
import type { CoseAlgorithm } from './cose';
import { isOurRpIdHash, parseAuthData } from './authenticator-data';
import type { AuthenticationResponse } from './response';
import { refuse, type Refused } from './result';
import { importPublicKey, verifySignature } from './signature';

/** The stored record of the credential the session's user is trying (§7.2 step 6). */
export type StoredCredential = {
  id: Uint8Array;
  /** SPKI, as verifyRegistration returned it. */
  publicKey: Uint8Array;
  algorithm: CoseAlgorithm;
  signCount: number;
  backupEligible: boolean;
};

export type AuthenticationExpectation = {
  challenge: Uint8Array;
  rpId: string;
  origins: readonly string[];
  topOrigins?: readonly string[];
  /** The ids sent in allowCredentials (this user's credentials). */
  allowCredentialIds: readonly Uint8Array[];
  /** The user.id sent at registration (the user handle), for the userHandle check. */
  userHandle: Uint8Array;
  credential: StoredCredential;
};

export type AuthenticationResult =
  | {
      ok: true;
      /** The value to store: the new counter, or the stored one when it did not advance. */
      signCount: number;
      /** The counter did not advance on a backup-eligible credential (accepted: synced copies). */
      counterRegressed: boolean;
      userVerified: boolean;
      /** BE: the credential may be synced (equal to the stored value, step 24). False: single-device. */
      backupEligible: boolean;
      backupState: boolean;
    }
  | Refused;

export async function verifyAuthentication(
  input: AuthenticationResponse,
  expected: AuthenticationExpectation,
): Promise<AuthenticationResult> {
  const stored = expected.credential;
  // Step 5: the credential is one of those listed in allowCredentials.
  if (!expected.allowCredentialIds.some((id) => equalBytes(id, input.rawId))) return refuse('credential_not_allowed');
  // Step 6: the user was identified before the ceremony (password step): the record is the
  // user's credential with this rawId, and a userHandle, when present, is that user's.
  if (!equalBytes(stored.id, input.rawId)) return refuse('credential_not_allowed');
  if (input.userHandle !== null && !timingSafeEqual(input.userHandle, expected.userHandle)) return refuse('user_handle');
  // Step 7: the public key is the stored one. Step 8: cData, authData, sig.
  // Steps 9-10: clientDataJSON as UTF-8 JSON. Steps 11-15: type, challenge, origin, crossOrigin, topOrigin.
  const clientData = parseClientData(input.clientDataJSON);
  if (clientData === null) return refuse('malformed');
  const clientDataRefusal = checkClientData(clientData, { ...expected, type: 'webauthn.get' });
  if (clientDataRefusal) return clientDataRefusal;
  const authData = parseAuthData(input.authenticatorData);
  // An assertion carries no attested credential data (§6.1, flag AT).
  if (authData === null || authData.credential !== null) return refuse('malformed');
  // Step 16: rpIdHash is SHA-256 of our configured RP ID.
  if (!(await isOurRpIdHash(authData, expected.rpId))) return refuse('rp_id');
  // Step 17: user presence is required.
  if (!authData.flags.userPresent) return refuse('user_presence');
  // Step 18: user verification is preferred, not required: UV = 0 is accepted and reported.
  // Step 19: BS without BE is a contradiction (§6.1.3).
  const { backupEligible, backupState } = authData.flags;
  if (backupState && !backupEligible) return refuse('backup_flags');
  // Step 20: BE is fixed at creation (§6.1.3); a change means another authenticator or a forgery.
  if (backupEligible !== stored.backupEligible) return refuse('backup_eligibility');
  // Step 21: we request no extensions; unsolicited outputs are ignored (ED data was checked well formed).
  // Steps 22-23: the signature over authData || SHA-256(cData) verifies under the stored key.
  const key = await importPublicKey(stored.algorithm, stored.publicKey);
  if (key === null) return refuse('public_key');
  const signed = concatBytes(input.authenticatorData, await sha256(input.clientDataJSON));
  if (!(await verifySignature(stored.algorithm, key, input.signature, signed))) return refuse('signature');
  // Step 24: when either counter is non-zero the new one must be greater. Not greater hints at
  // a cloned authenticator: refused for a device-bound credential (BE = 0). For every
  // backup-eligible credential (BE = 1), whether or not it is backed up yet and whatever it
  // reports, it is accepted and reported: such a credential may be synced, its copies keep
  // no common counter (one may report 0, another a lower value), and WebAuthn L3 §6.1.1
  // ("Signature Counter Considerations") leaves the response to a mismatch to the RP's risk
  // policy. docs/passkeys.md says the same: a counter that goes backwards is refused for a
  // device-bound credential only. Either way the stored value is never lowered; an
  // accepted regression is told to the operator (`passkey_counter_regressed`, by the callers).
  const counterUsed = authData.signCount !== 0 || stored.signCount !== 0;
  const advanced = authData.signCount > stored.signCount;
  if (counterUsed && !advanced && !backupEligible) return refuse('counter');
  // Step 25: no attestation is requested in assertions. Step 26 is the caller's update.
  return {
    ok: true,
    signCount: Math.max(authData.signCount, stored.signCount),
    counterRegressed: counterUsed && !advanced,
    userVerified: authData.flags.userVerified,
    backupEligible,
    backupState,
  };
}
