/**
 * Signature checks with WebCrypto only. The signed message of an assertion (L3 §7.2 step 23)
 * and of packed self attestation (§8.2.1) is `authenticatorData || SHA-256(clientDataJSON)`.
 */
import type { CoseAlgorithm } from './cose';
import { ecdsaDerToRaw } from './der';

type Params = { importAlgorithm: SubtleCryptoImportKeyAlgorithm; verify: SubtleCryptoSignAlgorithm };

const PARAMS: Record<CoseAlgorithm, Params> = {
  [-7]: { importAlgorithm: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  [-8]: { importAlgorithm: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  [-257]: { importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
};

/** The key as WebCrypto's, or null when it does not import (a point off the curve, ...). */
export async function importPublicKey(algorithm: CoseAlgorithm, spki: Uint8Array): Promise<CryptoKey | null> {
  try {
    return await crypto.subtle.importKey('spki', spki, PARAMS[algorithm].importAlgorithm, false, ['verify']);
  } catch {
    return null;
  }
}

/** True when `signature` (DER for ES256, L3 §6.5.5) verifies over `message`. Never throws. */
export async function verifySignature(
  algorithm: CoseAlgorithm,
  key: CryptoKey,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  const raw = algorithm === -7 ? ecdsaDerToRaw(signature, 32) : signature;
  if (raw === null) return false;
  try {
    return await crypto.subtle.verify(PARAMS[algorithm].verify, key, raw, message);
  } catch {
    return false;
  }
}
