/**
 * Authenticator data (WebAuthn L3 §6.1), parsed by oslo; the flags oslo does not expose
 * (BE, BS, AT, ED) are read from the flags byte here, and the byte layout is checked to the end.
 */
import { CBORMap, decodeCBOR, decodeCBORNoLeftoverBytes } from '@oslojs/cbor';
import { parseAuthenticatorData, type WebAuthnCredential } from '@oslojs/webauthn';
import { equalBytes, sha256 } from './bytes';

/** §6.1 flag bits. */
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;

/** COSE keys and extension maps are shallow; deeper nesting is refused. */
const MAX_CBOR_DEPTH = 4;
/** rpIdHash (32) + flags (1) + signCount (4); then aaguid (16) + credentialIdLength (2). */
const HEADER_BYTES = 37;
const ATTESTED_HEADER_BYTES = HEADER_BYTES + 18;

export type AuthenticatorFlags = {
  userPresent: boolean;
  userVerified: boolean;
  backupEligible: boolean;
  backupState: boolean;
};

export type ParsedAuthenticatorData = {
  rpIdHash: Uint8Array;
  flags: AuthenticatorFlags;
  signCount: number;
  credential: WebAuthnCredential | null;
};

/** True when `bytes` is exactly one CBOR map (the extensions of §6.1, flag ED). */
function isExtensionMap(bytes: Uint8Array): boolean {
  try {
    return decodeCBORNoLeftoverBytes(bytes, MAX_CBOR_DEPTH) instanceof CBORMap;
  } catch {
    return false;
  }
}

/**
 * Null unless the bytes are well formed: attested credential data exactly when AT is set,
 * and then extensions exactly when ED is set, with nothing left over.
 */
export function parseAuthData(bytes: Uint8Array): ParsedAuthenticatorData | null {
  let parsed;
  try {
    parsed = parseAuthenticatorData(bytes);
  } catch {
    return null;
  }
  const flagsByte = bytes[32]!;
  let offset = HEADER_BYTES;
  if (flagsByte & FLAG_AT) {
    if (parsed.credential === null) return null;
    offset = ATTESTED_HEADER_BYTES + parsed.credential.id.length;
    try {
      offset += decodeCBOR(bytes.subarray(offset), MAX_CBOR_DEPTH)[1];
    } catch {
      return null;
    }
  }
  const rest = bytes.subarray(offset);
  if (flagsByte & FLAG_ED ? !isExtensionMap(rest) : rest.length !== 0) return null;
  return {
    rpIdHash: parsed.relyingPartyIdHash,
    flags: {
      userPresent: (flagsByte & FLAG_UP) !== 0,
      userVerified: (flagsByte & FLAG_UV) !== 0,
      backupEligible: (flagsByte & FLAG_BE) !== 0,
      backupState: (flagsByte & FLAG_BS) !== 0,
    },
    signCount: parsed.signatureCounter,
    credential: parsed.credential,
  };
}

const rpIdHashes = new Map<string, Promise<Uint8Array>>();

/** SHA-256 of the RP ID, computed once per isolate (the RP ID is configuration). */
function rpIdHash(rpId: string): Promise<Uint8Array> {
  let hash = rpIdHashes.get(rpId);
  if (hash === undefined) {
    hash = sha256(new TextEncoder().encode(rpId));
    if (rpIdHashes.size < 16) rpIdHashes.set(rpId, hash);
  }
  return hash;
}

/** L3 §7.1 step 14 / §7.2 step 16: the authenticator scoped this credential to our RP ID. */
export async function isOurRpIdHash(data: ParsedAuthenticatorData, rpId: string): Promise<boolean> {
  return equalBytes(data.rpIdHash, await rpIdHash(rpId));
}
