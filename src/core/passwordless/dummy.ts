/**
 * A stand-in credential for an assertion whose credential is unknown (or of another
 * user, of a deleted account, or registered without UV): its signature is checked
 * against this key as a real one would be, so such a refusal costs what a real
 * credential's does and its timing says nothing about which credentials exist.
 * One P-256 key per isolate (ES256, the algorithm nearly every passkey uses); its
 * private half is discarded, so nothing ever verifies under it.
 */
import type { AuthenticationResponse, StoredCredential } from '../../webauthn';
import { parseAuthData } from '../../webauthn/authenticator-data';

let dummyKey: Promise<Uint8Array> | null = null;

function dummySpki(): Promise<Uint8Array> {
  dummyKey ??= (async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    return new Uint8Array((await crypto.subtle.exportKey('spki', pair.publicKey)) as ArrayBuffer);
  })();
  return dummyKey;
}

/** A record that passes every check before the signature's (§7.2 steps 5-20), as the real one would. */
export async function dummyCredential(response: AuthenticationResponse): Promise<StoredCredential> {
  const flags = parseAuthData(response.authenticatorData)?.flags;
  return { id: response.rawId, publicKey: await dummySpki(), algorithm: -7, signCount: 0, backupEligible: flags?.backupEligible ?? false };
}
