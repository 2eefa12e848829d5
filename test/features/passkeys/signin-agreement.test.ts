/**
 * Interop for the passwordless ceremony (issue 21): for every response below, POST
 * /webauthn/signin/verify and @simplewebauthn/server (the test oracle, given
 * requireUserVerification: true as our options ask) agree on accept or refuse.
 * The deliberate differences (checks SimpleWebAuthn leaves to its caller) are listed after.
 */
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { encodeBase64urlNoPadding as b64url } from '@oslojs/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { useRealTime } from '../../helpers';
import { encodeCbor } from '../../webauthn/cbor';
import type { Algorithm, SoftwareAuthenticator } from '../../webauthn/authenticator';
import { ORIGIN, passkeyUser, RP_ID } from './support';
import { freshIp, signinAssertion, signinOptions, signinVerify } from './signin-support';

const T0 = 1_900_000_000;
afterEach(() => useRealTime());

type Forge = Parameters<SoftwareAuthenticator['assert']>[1];

async function theirs(json: unknown, challenge: Uint8Array, authenticator: SoftwareAuthenticator, counter: number): Promise<boolean> {
  try {
    const result = await verifyAuthenticationResponse({
      response: json as never,
      expectedChallenge: b64url(challenge),
      expectedOrigin: [ORIGIN],
      expectedRPID: RP_ID,
      credential: { id: b64url(authenticator.credentialId), publicKey: new Uint8Array(encodeCbor(authenticator.coseKey)), counter },
      requireUserVerification: true,
    });
    return result.verified;
  } catch {
    return false;
  }
}

const cases: Array<[string, Forge, boolean]> = [
  ['valid', {}, true],
  ['UV = 0', { flags: { uv: false } }, false],
  ['UP = 0', { flags: { up: false } }, false],
  ['type webauthn.create', { type: 'webauthn.create' }, false],
  ['another challenge', { challenge: new Uint8Array(32).fill(2) }, false],
  ['another origin', { origin: 'https://evil.example' }, false],
  ['rpIdHash of another RP', { rpId: 'evil.example' }, false],
  ['BS without BE', { flags: { be: false, bs: true } }, false],
  ['a bad signature', { tamper: true }, false],
];

const ALGORITHMS: Array<[string, Algorithm]> = [
  ['ES256', -7],
  ['Ed25519', -8],
  ['RS256', -257],
];

async function resetBudget(user: { id: string; authenticator: SoftwareAuthenticator }) {
  const opts = await signinOptions();
  expect((await signinVerify(opts.challengeId, await signinAssertion(user.authenticator, user.id, opts), freshIp())).status).toBe(200);
}

describe('passwordless sign-in agrees with @simplewebauthn/server', () => {
  for (const [name, algorithm] of ALGORITHMS) {
    it(`${name}: every case accepted or refused by both`, async () => {
      const user = await passkeyUser(T0, { algorithm });
      for (const [caseName, forge, expected] of cases) {
        const opts = await signinOptions();
        const json = await signinAssertion(user.authenticator, user.id, opts, forge);
        const ours = (await signinVerify(opts.challengeId, json, freshIp())).status === 200;
        expect({ caseName, ours, theirs: await theirs(json, opts.challenge, user.authenticator, 0) }).toEqual({ caseName, ours: expected, theirs: expected });
        // A success clears the credential's budget (5 failures lock it), so the next case is judged, not throttled.
        if (!ours) await resetBudget(user);
      }
    });
  }

  it('a counter regression of a device-bound passkey: both refuse', async () => {
    const user = await passkeyUser(T0, { signCount: 10 });
    const opts = await signinOptions();
    const json = await signinAssertion(user.authenticator, user.id, opts, { signCount: 4 });
    expect((await signinVerify(opts.challengeId, json, freshIp())).status).toBe(401);
    expect(await theirs(json, opts.challenge, user.authenticator, 10)).toBe(false);
  });

  it('deliberate difference: no userHandle — we refuse (the ceremony names no user, L3 §7.2 step 6), SimpleWebAuthn does not look', async () => {
    const user = await passkeyUser(T0);
    const opts = await signinOptions();
    const json = await signinAssertion(user.authenticator, user.id, opts, { userHandle: null });
    expect((await signinVerify(opts.challengeId, json, freshIp())).status).toBe(401);
    expect(await theirs(json, opts.challenge, user.authenticator, 0)).toBe(true);
  });

  it('deliberate difference: a user handle naming another user — we refuse (§7.2 step 6: the handle must name the credential’s owner), SimpleWebAuthn does not look', async () => {
    const owner = await passkeyUser(T0);
    const other = await passkeyUser(T0);
    const opts = await signinOptions();
    const json = await signinAssertion(owner.authenticator, other.id, opts);
    expect((await signinVerify(opts.challengeId, json, freshIp())).status).toBe(401);
    expect(await theirs(json, opts.challenge, owner.authenticator, 0)).toBe(true);
  });

  it('deliberate difference: BE changed since registration — we refuse (§7.2 step 20), SimpleWebAuthn keeps no BE to compare', async () => {
    const user = await passkeyUser(T0, { backupEligible: true });
    const opts = await signinOptions();
    // A synced passkey's assertion claiming BE = 0 (to pass for device-bound, acr phrh).
    const json = await signinAssertion(user.authenticator, user.id, opts, { flags: { be: false, bs: false } });
    expect((await signinVerify(opts.challengeId, json, freshIp())).status).toBe(401);
    expect(await theirs(json, opts.challenge, user.authenticator, 0)).toBe(true);
  });
});
