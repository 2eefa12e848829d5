/**
 * Our verifier and @simplewebauthn/server (devDependency only) agree on accept/refuse for
 * valid and forged responses, as otplib does for TOTP. SimpleWebAuthn is always given
 * expectedRPID (without it, it skips the RP ID check at registration) and the same
 * algorithms we offer. The few cases where we are deliberately stricter or more lenient
 * are listed separately with what each side does.
 */
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import { encodeBase64urlNoPadding as b64url } from '@oslojs/encoding';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from './cbor';
import { ORIGIN, RP_ID, SoftwareAuthenticator, type Forge } from './authenticator';
import { ALGORITHMS, challenge, registered, verifyAssertionJSON, verifyRegistrationJSON } from './support';

type RegistrationForge = Parameters<SoftwareAuthenticator['register']>[1];
type AssertionForge = Parameters<SoftwareAuthenticator['assert']>[1];

async function theirsRegistration(json: unknown, issued: Uint8Array): Promise<boolean> {
  try {
    const result = await verifyRegistrationResponse({
      response: json as never,
      expectedChallenge: b64url(issued),
      expectedOrigin: [ORIGIN],
      expectedRPID: RP_ID,
      requireUserVerification: false,
      supportedAlgorithmIDs: [-8, -7, -257],
    });
    return result.verified;
  } catch {
    return false;
  }
}

async function theirsAuthentication(json: unknown, issued: Uint8Array, authenticator: SoftwareAuthenticator, counter: number): Promise<boolean> {
  try {
    const result = await verifyAuthenticationResponse({
      response: json as never,
      expectedChallenge: b64url(issued),
      expectedOrigin: [ORIGIN],
      expectedRPID: RP_ID,
      credential: { id: b64url(authenticator.credentialId), publicKey: new Uint8Array(encodeCbor(authenticator.coseKey)), counter },
      requireUserVerification: false,
    });
    return result.verified;
  } catch {
    return false;
  }
}

const registrationCases: Array<[string, RegistrationForge, boolean]> = [
  ['valid', {}, true],
  ['valid, UV = 0', { flags: { uv: false } }, true],
  ['valid packed self attestation', { selfAttest: true }, true],
  ['type webauthn.get', { type: 'webauthn.get' }, false],
  ['another challenge', { challenge: new Uint8Array(32).fill(1) }, false],
  ['another origin', { origin: 'https://evil.example' }, false],
  ['the origin on another port', { origin: 'https://example.com:8443' }, false],
  ['rpIdHash of another RP', { rpId: 'evil.example' }, false],
  ['UP = 0', { flags: { up: false } }, false],
  ['BS without BE', { flags: { be: false, bs: true } }, false],
  ['packed with a zero signature', { fmt: 'packed', attStmt: { alg: -7, sig: new Uint8Array(70) } }, false],
  ['an unknown fmt', { fmt: 'made-up' }, false],
  ['an ES384 key', { coseKey: new Map<number, never>([[1, 2 as never], [3, -35 as never], [-1, 2 as never], [-2, new Uint8Array(48) as never], [-3, new Uint8Array(48) as never]]) }, false],
];

const assertionCases: Array<[string, AssertionForge, boolean]> = [
  ['valid', {}, true],
  ['valid, UV = 0', { flags: { uv: false } }, true],
  ['valid without userHandle', { userHandle: null }, true],
  ['type webauthn.create', { type: 'webauthn.create' }, false],
  ['another challenge', { challenge: new Uint8Array(32).fill(2) }, false],
  ['another origin', { origin: 'https://evil.example' }, false],
  ['rpIdHash of another RP', { rpId: 'evil.example' }, false],
  ['UP = 0', { flags: { up: false } }, false],
  ['BS without BE', { flags: { be: false, bs: true } }, false],
  ['a bad signature', { tamper: true }, false],
];

describe('agreement with @simplewebauthn/server', () => {
  for (const [name, algorithm] of ALGORITHMS) {
    for (const [caseName, forge, expected] of registrationCases) {
      it(`registration ${name}: ${caseName} -> ${expected ? 'accepted' : 'refused'} by both`, async () => {
        const authenticator = await SoftwareAuthenticator.create(algorithm);
        const issued = challenge();
        const adjusted = forge?.fmt === 'packed' && forge.attStmt ? { ...forge, attStmt: { alg: algorithm, sig: new Uint8Array(70) } } : forge;
        const json = await authenticator.register(issued, adjusted);
        const ours = (await verifyRegistrationJSON(json, issued)).ok;
        expect({ ours, theirs: await theirsRegistration(json, issued) }).toEqual({ ours: expected, theirs: expected });
      });
    }
    for (const [caseName, forge, expected] of assertionCases) {
      it(`assertion ${name}: ${caseName} -> ${expected ? 'accepted' : 'refused'} by both`, async () => {
        const { authenticator, stored } = await registered(algorithm);
        const issued = challenge();
        const json = await authenticator.assert(issued, forge);
        const ours = (await verifyAssertionJSON(json, stored, issued)).ok;
        expect({ ours, theirs: await theirsAuthentication(json, issued, authenticator, stored.signCount) }).toEqual({ ours: expected, theirs: expected });
      });
    }
  }

  it('counters: both accept 0/0 and an increase, both refuse a regression of a device-bound credential', async () => {
    const { authenticator, stored } = await registered(-7);
    const cases: Array<[number, number, boolean]> = [[0, 0, true], [5, 6, true], [10, 4, false], [10, 10, false], [10, 0, false]];
    for (const [storedCount, newCount, expected] of cases) {
      const issued = challenge();
      const json = await authenticator.assert(issued, { signCount: newCount });
      const ours = (await verifyAssertionJSON(json, { ...stored, signCount: storedCount }, issued)).ok;
      const theirs = await theirsAuthentication(json, issued, authenticator, storedCount);
      expect({ storedCount, newCount, ours, theirs }).toEqual({ storedCount, newCount, ours: expected, theirs: expected });
    }
  });

  describe('deliberate differences', () => {
    it('a counter regression on a synced passkey (BE = 1): we accept and report it, SimpleWebAuthn refuses', async () => {
      const { authenticator, stored } = await registered(-7, { backupEligible: true });
      const issued = challenge();
      const json = await authenticator.assert(issued, { signCount: 3 } satisfies Forge);
      expect((await verifyAssertionJSON(json, { ...stored, signCount: 10 }, issued)).ok).toBe(true);
      expect(await theirsAuthentication(json, issued, authenticator, 10)).toBe(false);
    });

    it('BE flipping at login: we refuse (L3 §7.2 step 20), SimpleWebAuthn has no stored BE and accepts', async () => {
      const { authenticator, stored } = await registered(-7);
      const issued = challenge();
      const json = await authenticator.assert(issued, { flags: { be: true, bs: true } });
      expect((await verifyAssertionJSON(json, stored, issued)).ok).toBe(false);
      expect(await theirsAuthentication(json, issued, authenticator, 0)).toBe(true);
    });

    it('crossOrigin true: we refuse (never framed), SimpleWebAuthn accepts', async () => {
      const authenticator = await SoftwareAuthenticator.create(-7);
      const issued = challenge();
      const json = await authenticator.register(issued, { crossOrigin: true });
      expect((await verifyRegistrationJSON(json, issued)).ok).toBe(false);
      expect(await theirsRegistration(json, issued)).toBe(true);
    });

    it('a credential id of 1024 bytes: we refuse (L3 §7.1 step 26), SimpleWebAuthn accepts', async () => {
      const authenticator = await SoftwareAuthenticator.create(-7, { credentialId: new Uint8Array(1024).fill(5) });
      const issued = challenge();
      const json = await authenticator.register(issued);
      expect((await verifyRegistrationJSON(json, issued)).ok).toBe(false);
      expect(await theirsRegistration(json, issued)).toBe(true);
    });
  });
});
