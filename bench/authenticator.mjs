// A software passkey for the end-to-end bench (ported from test/webauthn/authenticator.ts,
// assertions only): a P-256 key (ES256, COSE -7, what platform authenticators make by
// default), hand-built authenticatorData (WebAuthn L3 §6.1) and clientDataJSON (§5.8.1), in
// the JSON a browser's PublicKeyCredential.toJSON() sends. Node's crypto, so the driver
// signs without a round trip; the private key never leaves this process.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** What bench/app.toml configures: WEBAUTHN_RP_ID and the one origin of WEBAUTHN_ORIGINS. */
export const RP_ID = 'localhost';
export const ORIGIN = 'http://localhost:8787';
/** COSE ES256 (RFC 9053 §2.1). */
const ES256 = -7;
/** UP (bit 0) and UV (bit 2), §6.1: a user present and verified; not backup eligible. */
const FLAGS_UP_UV = 0x05;

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
const rpIdHash = sha256(Buffer.from(RP_ID));

/**
 * One credential: `seed` is the row the bench worker stores for it (webauthn_credentials:
 * id, SPKI public key, algorithm); `assert(challenge, userId)` answers get() for a challenge
 * (base64url, as POST /webauthn/login/options sent it). The counter stays 0, as for
 * authenticators that keep none (§6.1.1), so every assertion of the credential is valid.
 */
export function createPasskey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const credentialId = randomBytes(16);
  const authenticatorData = Buffer.concat([rpIdHash, Buffer.of(FLAGS_UP_UV), Buffer.alloc(4)]);
  return {
    seed: { credentialId: b64url(credentialId), publicKey: b64url(publicKey.export({ type: 'spki', format: 'der' })), algorithm: ES256 },
    assert(challenge, userId) {
      const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: ORIGIN, crossOrigin: false }));
      // §6.3.3: the signature is over authenticatorData || SHA-256(clientDataJSON); node's ECDSA gives DER, as WebAuthn sends.
      const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), privateKey);
      return {
        id: b64url(credentialId),
        rawId: b64url(credentialId),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authenticatorData),
          signature: b64url(signature),
          userHandle: b64url(Buffer.from(userId)),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
  };
}
