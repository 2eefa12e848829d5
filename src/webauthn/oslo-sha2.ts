/**
 * What `@oslojs/crypto/sha2` resolves to in the deployed bundle (wrangler.toml
 * `[alias]`). @oslojs/webauthn imports only `sha256` from it, for two methods
 * this code never calls (AuthenticatorData.verifyRelyingPartyIdHash and
 * createAssertionSignatureMessage: src/webauthn hashes with WebCrypto), yet the
 * import drags in oslo's whole software SHA-2 family (SHA-224 to SHA-512/256,
 * 2.6 KiB gzipped). @noble/hashes' SHA-256, already bundled for scrypt, has the
 * same signature and output (FIPS 180-4 §6.2), so nothing changes if one is
 * ever called; test/webauthn/oslo-sha2.test.ts compares the two.
 */
export { sha256 } from '@noble/hashes/sha2.js';
