import { describe, expect, it } from 'vitest';
import { SoftwareAuthenticator } from './authenticator';
import { ALGORITHMS, challenge, registered, verifyAssertionJSON } from './support';

describe('verifyAuthentication (WebAuthn L3 §7.2)', () => {
  for (const [name, algorithm] of ALGORITHMS) {
    it(`accepts a valid ${name} assertion`, async () => {
      const { authenticator, stored } = await registered(algorithm);
      const issued = challenge();
      const result = await verifyAssertionJSON(await authenticator.assert(issued), stored, issued);
      expect(result).toEqual({ ok: true, signCount: 0, counterRegressed: false, userVerified: true, backupEligible: false, backupState: false });
    });

    it(`refuses a ${name} assertion with a bad signature`, async () => {
      const { authenticator, stored } = await registered(algorithm);
      const issued = challenge();
      expect(await verifyAssertionJSON(await authenticator.assert(issued, { tamper: true }), stored, issued)).toEqual({ ok: false, reason: 'signature' });
    });
  }

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    // A create() response, or any clientData of the other ceremony (§7.2 step 11).
    ['type webauthn.create', { type: 'webauthn.create' }, 'type'],
    // Replay of an assertion made for an earlier challenge (step 12).
    ['another challenge', { challenge: new Uint8Array(32).fill(9) }, 'challenge'],
    // A phishing proxy on another origin (step 13).
    ['another origin', { origin: 'https://examp1e.com' }, 'origin'],
    ['the origin on another port', { origin: 'https://example.com:444' }, 'origin'],
    ['http instead of https', { origin: 'http://example.com' }, 'origin'],
    // A framing page (steps 14-15).
    ['crossOrigin true', { crossOrigin: true }, 'cross_origin'],
    ['a topOrigin', { topOrigin: 'https://example.com' }, 'top_origin'],
    // A signature an authenticator made for another RP (step 16).
    ['rpIdHash of another RP', { rpId: 'evil.example' }, 'rp_id'],
    // Malware signing without a user gesture (step 17).
    ['UP = 0', { flags: { up: false } }, 'user_presence'],
    // Contradictory backup flags (step 19).
    ['BS without BE', { flags: { be: false, bs: true } }, 'backup_flags'],
    // A device-bound credential presenting itself as a synced one (step 20).
    ['BE flipped to 1', { flags: { be: true, bs: false } }, 'backup_eligibility'],
    ['attested credential data in an assertion', { flags: { at: true } }, 'malformed'],
    ['bytes after authenticatorData', { trailing: Uint8Array.of(0, 0) }, 'malformed'],
  ];
  for (const [name, forge, reason] of refusals) {
    it(`refuses ${name} (${reason})`, async () => {
      const { authenticator, stored } = await registered(-7);
      const issued = challenge();
      expect(await verifyAssertionJSON(await authenticator.assert(issued, forge as never), stored, issued)).toEqual({ ok: false, reason });
    });
  }

  it('refuses BE flipped to 0 on a synced passkey (§7.2 step 20)', async () => {
    const { authenticator, stored } = await registered(-8, { backupEligible: true });
    const issued = challenge();
    const json = await authenticator.assert(issued, { flags: { be: false, bs: false } });
    expect(await verifyAssertionJSON(json, stored, issued)).toEqual({ ok: false, reason: 'backup_eligibility' });
  });

  it('accepts UV = 0 and reports it (§7.2 step 18)', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const result = await verifyAssertionJSON(await authenticator.assert(issued, { flags: { uv: false } }), stored, issued);
    expect(result).toMatchObject({ ok: true, userVerified: false });
  });

  it('accepts counter 0 / 0 again and again (synced passkeys never count, §7.2 step 24)', async () => {
    const { authenticator, stored } = await registered(-7, { backupEligible: true });
    for (let i = 0; i < 3; i++) {
      const issued = challenge();
      const result = await verifyAssertionJSON(await authenticator.assert(issued), stored, issued);
      expect(result).toEqual({ ok: true, signCount: 0, counterRegressed: false, userVerified: true, backupEligible: true, backupState: true });
    }
    const { authenticator: bound, stored: boundStored } = await registered(-8);
    const issued = challenge();
    expect(await verifyAssertionJSON(await bound.assert(issued), boundStored, issued)).toMatchObject({ ok: true, signCount: 0 });
  });

  it('accepts an advancing counter and returns the new value to store', async () => {
    const { authenticator, stored } = await registered(-7, { signCount: 5 });
    expect(stored.signCount).toBe(5);
    const issued = challenge();
    expect(await verifyAssertionJSON(await authenticator.assert(issued), stored, issued)).toMatchObject({ ok: true, signCount: 6 });
  });

  // A cloned device-bound authenticator: the clone's counter lags the original's (§7.2 step 24).
  for (const [name, signCount] of [['lower', 3], ['equal', 10], ['zero', 0]] as const) {
    it(`refuses a ${name} counter on a device-bound credential (BE = 0) and lowers nothing`, async () => {
      const { authenticator, stored } = await registered(-7, { signCount: 1 });
      const record = { ...stored, signCount: 10 };
      const issued = challenge();
      const result = await verifyAssertionJSON(await authenticator.assert(issued, { signCount }), record, issued);
      expect(result).toEqual({ ok: false, reason: 'counter' });
      expect(record.signCount).toBe(10);
    });
  }

  it('accepts a counter regression on a synced passkey (BE = 1), reports it and keeps the stored value', async () => {
    const { authenticator, stored } = await registered(-7, { backupEligible: true, signCount: 1 });
    const record = { ...stored, signCount: 10 };
    const issued = challenge();
    const result = await verifyAssertionJSON(await authenticator.assert(issued, { signCount: 4 }), record, issued);
    expect(result).toEqual({ ok: true, signCount: 10, counterRegressed: true, userVerified: true, backupEligible: true, backupState: true });
  });

  // Another account's (or an unlisted) credential presented for this user (§7.2 steps 5-6).
  it('refuses a credential that is not in allowCredentials', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const json = await authenticator.assert(issued);
    const result = await verifyAssertionJSON(json, stored, issued, { allowCredentialIds: [new Uint8Array(16)] });
    expect(result).toEqual({ ok: false, reason: 'credential_not_allowed' });
    expect(await verifyAssertionJSON(json, stored, issued, { allowCredentialIds: [] })).toEqual({ ok: false, reason: 'credential_not_allowed' });
  });

  it('refuses an assertion by another credential than the stored record', async () => {
    const { stored } = await registered(-7);
    const other = await SoftwareAuthenticator.create(-7);
    const issued = challenge();
    const json = await other.assert(issued);
    const result = await verifyAssertionJSON(json, stored, issued, { allowCredentialIds: [stored.id, other.credentialId] });
    expect(result).toEqual({ ok: false, reason: 'credential_not_allowed' });
  });

  it('refuses a userHandle of another user and accepts an absent or null one (§7.2 step 6)', async () => {
    const { authenticator, stored } = await registered(-7);
    let issued = challenge();
    const wrong = await authenticator.assert(issued, { userHandle: new Uint8Array(32).fill(8) });
    expect(await verifyAssertionJSON(wrong, stored, issued)).toEqual({ ok: false, reason: 'user_handle' });
    issued = challenge();
    expect((await verifyAssertionJSON(await authenticator.assert(issued, { userHandle: null }), stored, issued)).ok).toBe(true);
    const nulled = await authenticator.assert(issued);
    expect((await verifyAssertionJSON({ ...nulled, response: { ...nulled.response, userHandle: null } }, stored, issued)).ok).toBe(true);
  });

  it('refuses an ES256 signature given as raw r||s instead of DER (§6.5.5)', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const good = await authenticator.assert(issued);
    const der = Uint8Array.from(atob(good.response.signature.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    expect(der[0]).toBe(0x30);
    const raw = new Uint8Array(64);
    const rLength = der[3]!;
    const r = der.subarray(4, 4 + rLength).subarray(-32);
    const s = der.subarray(6 + rLength).subarray(-32);
    raw.set(r, 32 - r.length);
    raw.set(s, 64 - s.length);
    const forged = await authenticator.assert(issued, { signature: raw, signCount: 0 });
    expect(await verifyAssertionJSON(forged, stored, issued)).toEqual({ ok: false, reason: 'signature' });
  });

  it('refuses under another configured RP ID even when the response is for ours', async () => {
    const { authenticator, stored } = await registered(-8);
    const issued = challenge();
    expect(await verifyAssertionJSON(await authenticator.assert(issued), stored, issued, { rpId: 'other.example' })).toEqual({ ok: false, reason: 'rp_id' });
  });
});
