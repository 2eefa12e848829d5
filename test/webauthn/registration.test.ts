import { describe, expect, it } from 'vitest';
import { SoftwareAuthenticator } from './authenticator';
import { ALGORITHMS, challenge, verifyRegistrationJSON } from './support';

describe('verifyRegistration (WebAuthn L3 §7.1)', () => {
  for (const [name, algorithm] of ALGORITHMS) {
    it(`accepts a valid ${name} registration and returns an importable SPKI`, async () => {
      const authenticator = await SoftwareAuthenticator.create(algorithm);
      const issued = challenge();
      const result = await verifyRegistrationJSON(await authenticator.register(issued, { transports: ['internal', 'hybrid'] }), issued);
      expect(result).toMatchObject({ ok: true, credential: { algorithm, signCount: 0, userVerified: true, backupEligible: false, backupState: false } });
      if (!result.ok) return;
      expect(result.credential.id).toEqual(authenticator.credentialId);
      expect(result.credential.transports).toEqual(['internal', 'hybrid']);
      const mine = new Uint8Array((await crypto.subtle.exportKey('spki', authenticator.keys.publicKey)) as ArrayBuffer);
      expect(result.credential.publicKey).toEqual(mine);
    });

    it(`accepts ${name} packed self attestation and refuses it with a wrong signature`, async () => {
      const authenticator = await SoftwareAuthenticator.create(algorithm);
      const issued = challenge();
      expect((await verifyRegistrationJSON(await authenticator.register(issued, { selfAttest: true }), issued)).ok).toBe(true);
      const forged = { fmt: 'packed', attStmt: { alg: algorithm, sig: new Uint8Array(64) } };
      expect(await verifyRegistrationJSON(await authenticator.register(issued, forged), issued)).toEqual({ ok: false, reason: 'signature' });
    });
  }

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    // A get() response replayed as a create() (§7.1 step 7).
    ['type webauthn.get', { type: 'webauthn.get' }, 'type'],
    // A response to another ceremony's challenge (step 8).
    ['another challenge', { challenge: new Uint8Array(32).fill(1) }, 'challenge'],
    // A phishing site relaying the ceremony (step 9).
    ['another origin', { origin: 'https://evil.example' }, 'origin'],
    ['the origin on another port', { origin: 'https://example.com:8443' }, 'origin'],
    ['a subdomain not configured', { origin: 'https://login.example.com' }, 'origin'],
    // A framing page (steps 10-11).
    ['crossOrigin true', { crossOrigin: true }, 'cross_origin'],
    ['a topOrigin', { topOrigin: 'https://evil.example' }, 'top_origin'],
    // A credential scoped to another RP (step 14), which SimpleWebAuthn skips without expectedRPID.
    ['rpIdHash of another RP', { rpId: 'evil.example' }, 'rp_id'],
    // No user gesture (step 15).
    ['UP = 0', { flags: { up: false } }, 'user_presence'],
    // Contradictory backup flags (step 17).
    ['BS without BE', { flags: { be: false, bs: true } }, 'backup_flags'],
    // Attestation formats we do not verify (steps 22-23).
    ['fmt fido-u2f', { fmt: 'fido-u2f', attStmt: { sig: new Uint8Array(8), x5c: [new Uint8Array(8)] } }, 'attestation'],
    ['packed with x5c', { fmt: 'packed', attStmt: { alg: -7, sig: new Uint8Array(8), x5c: [new Uint8Array(8)] } }, 'attestation'],
    ['fmt none with a statement', { attStmt: { sig: new Uint8Array(8) } }, 'attestation'],
    ['an unknown fmt', { fmt: 'made-up' }, 'attestation'],
    // A key for an algorithm we did not offer (step 20).
    ['an ES384 key', { coseKey: new Map<number, unknown>([[1, 2], [3, -35], [-1, 2], [-2, new Uint8Array(48)], [-3, new Uint8Array(48)]]) }, 'algorithm'],
    ['alg ES256 with an Ed25519 key', { coseKey: new Map<number, unknown>([[1, 1], [3, -7], [-1, 6], [-2, new Uint8Array(32)]]) }, 'algorithm'],
    ['an RSA-1024 key', { coseKey: new Map<number, unknown>([[1, 3], [3, -257], [-1, new Uint8Array(128).fill(0xc1)], [-2, Uint8Array.of(1, 0, 1)]]) }, 'algorithm'],
    ['an EC key without y', { coseKey: new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, new Uint8Array(32)]]) }, 'algorithm'],
    ['a P-256 point off the curve', { coseKey: new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, new Uint8Array(32).fill(1)], [-3, new Uint8Array(32).fill(2)]]) }, 'public_key'],
    ['AT = 0 at registration', { flags: { at: false } }, 'malformed'],
    ['bytes after the credential key', { trailing: Uint8Array.of(0) }, 'malformed'],
  ];
  for (const [name, forge, reason] of refusals) {
    it(`refuses ${name} (${reason})`, async () => {
      const authenticator = await SoftwareAuthenticator.create(-7);
      const issued = challenge();
      const json = await authenticator.register(issued, forge as never);
      expect(await verifyRegistrationJSON(json, issued)).toEqual({ ok: false, reason });
    });
  }

  it('accepts UV = 0 and reports it (user verification is preferred, §7.1 step 16)', async () => {
    const authenticator = await SoftwareAuthenticator.create(-8);
    const issued = challenge();
    const result = await verifyRegistrationJSON(await authenticator.register(issued, { flags: { uv: false } }), issued);
    expect(result).toMatchObject({ ok: true, credential: { userVerified: false } });
  });

  it('records BE and BS of a synced passkey', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7, { backupEligible: true });
    const issued = challenge();
    const result = await verifyRegistrationJSON(await authenticator.register(issued), issued);
    expect(result).toMatchObject({ ok: true, credential: { backupEligible: true, backupState: true } });
  });

  it('accepts a well-formed unsolicited extension map (ED) and refuses a broken one', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const issued = challenge();
    const good = await authenticator.register(issued, { extensions: { credProtect: 2 } });
    expect((await verifyRegistrationJSON(good, issued)).ok).toBe(true);
    const broken = await authenticator.register(issued, { flags: { ed: true } });
    expect(await verifyRegistrationJSON(broken, issued)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a credential id of 1024 bytes and accepts one of 1023 (§7.1 step 26)', async () => {
    const issued = challenge();
    const long = await SoftwareAuthenticator.create(-7, { credentialId: new Uint8Array(1024).fill(3) });
    expect(await verifyRegistrationJSON(await long.register(issued), issued)).toEqual({ ok: false, reason: 'credential_id' });
    const max = await SoftwareAuthenticator.create(-7, { credentialId: new Uint8Array(1023).fill(3) });
    expect((await verifyRegistrationJSON(await max.register(issued), issued)).ok).toBe(true);
  });

  it('refuses a rawId that is not the credential id in authData', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const issued = challenge();
    const json = await authenticator.register(issued);
    const other = 'AAAAAAAAAAAAAAAAAAAAAA';
    expect(await verifyRegistrationJSON({ ...json, id: other, rawId: other }, issued)).toEqual({ ok: false, reason: 'credential_id' });
  });

  it('takes the RP ID from the caller only: the same response fails under another configured RP ID', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const issued = challenge();
    const json = await authenticator.register(issued);
    expect(await verifyRegistrationJSON(json, issued, 'other.example')).toEqual({ ok: false, reason: 'rp_id' });
  });
});
