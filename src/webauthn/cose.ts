/**
 * The credential public key (a COSE_Key, RFC 9052 §7, WebAuthn L3 §6.5.1) turned into the
 * form we store: the COSE algorithm and an SPKI that WebCrypto imports directly, so a login
 * costs one importKey and no CBOR.
 */
import {
  COSEKeyType,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
  type COSEPublicKey,
} from '@oslojs/webauthn';
import { concatBytes } from './bytes';
import { ED25519_SPKI_PREFIX, P256_SPKI_PREFIX, rsaSpki } from './der';
import { MAX_RSA_MODULUS_BITS, MIN_RSA_MODULUS_BITS } from './limits';

/** The algorithms we offer in pubKeyCredParams (RFC 9053 §2.1, §2.2; RFC 8812 §2). */
export type CoseAlgorithm = typeof coseAlgorithmES256 | typeof coseAlgorithmEdDSA | typeof coseAlgorithmRS256;
export const SUPPORTED_ALGORITHMS: readonly CoseAlgorithm[] = [coseAlgorithmEdDSA, coseAlgorithmES256, coseAlgorithmRS256];

export type StoredPublicKey = { algorithm: CoseAlgorithm; spki: Uint8Array };

function bigintBytes(value: bigint, length?: number): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const size = length ?? hex.length / 2;
  if (hex.length / 2 > size) throw new Error('integer too large');
  const out = new Uint8Array(size);
  for (let i = 0; i < hex.length / 2; i++) out[size - hex.length / 2 + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The key with its algorithm checked against what we offered (L3 §7.1 step 20) and its
 * parameters against that algorithm: ES256 needs EC2 on P-256, EdDSA OKP on Ed25519,
 * RS256 an RSA modulus of 2048 to 4096 bits. Null for anything else.
 */
export function storedPublicKey(key: COSEPublicKey): StoredPublicKey | null {
  try {
    const algorithm = key.algorithm();
    const type = key.type();
    if (algorithm === coseAlgorithmES256 && type === COSEKeyType.EC2) {
      const { curve, x, y } = key.ec2();
      if (curve !== coseEllipticCurveP256) return null;
      return { algorithm, spki: concatBytes(P256_SPKI_PREFIX, bigintBytes(x, 32), bigintBytes(y, 32)) };
    }
    if (algorithm === coseAlgorithmEdDSA && type === COSEKeyType.OKP) {
      const { curve, x } = key.okp();
      if (curve !== coseEllipticCurveEd25519 || x.length !== 32) return null;
      return { algorithm, spki: concatBytes(ED25519_SPKI_PREFIX, x) };
    }
    if (algorithm === coseAlgorithmRS256 && type === COSEKeyType.RSA) {
      const { n, e } = key.rsa();
      const bits = n.toString(2).length;
      if (bits < MIN_RSA_MODULUS_BITS || bits > MAX_RSA_MODULUS_BITS || e < 3n || e % 2n === 0n) return null;
      return { algorithm, spki: rsaSpki(bigintBytes(n), bigintBytes(e)) };
    }
    return null;
  } catch {
    return null; // a missing or mistyped parameter
  }
}
