import { describe, expect, it } from 'vitest';
import { creationOptions, requestOptions } from '../../src/webauthn';
import { ecdsaDerToRaw } from '../../src/webauthn/der';

describe('options builders (WebAuthn L3 §5.4, §5.5)', () => {
  it('builds PublicKeyCredentialCreationOptionsJSON', () => {
    const options = creationOptions({
      rpId: 'example.com',
      rpName: 'Example',
      userId: Uint8Array.of(1, 2, 3),
      userName: 'alice',
      challenge: new Uint8Array(32),
      excludeCredentials: [{ id: Uint8Array.of(0xff), transports: ['internal'] }, { id: Uint8Array.of(0xfe) }],
    });
    expect(options).toEqual({
      rp: { id: 'example.com', name: 'Example' },
      user: { id: 'AQID', name: 'alice', displayName: 'alice' },
      challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      pubKeyCredParams: [
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -257 },
      ],
      timeout: 300000,
      excludeCredentials: [
        { type: 'public-key', id: '_w', transports: ['internal'] },
        { type: 'public-key', id: '_g' },
      ],
      authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'preferred' },
      attestation: 'none',
    });
  });

  it('builds PublicKeyCredentialRequestOptionsJSON with this user\'s credentials only', () => {
    expect(requestOptions({ rpId: 'example.com', challenge: Uint8Array.of(0xfb, 0xff), allowCredentials: [{ id: Uint8Array.of(1) }] })).toEqual({
      challenge: '-_8',
      timeout: 300000,
      rpId: 'example.com',
      allowCredentials: [{ type: 'public-key', id: 'AQ' }],
      userVerification: 'preferred',
    });
  });
});

describe('ecdsaDerToRaw (RFC 3279 §2.2.3)', () => {
  const der = (...bytes: number[]) => Uint8Array.from(bytes);
  it('converts canonical DER, padding short integers and dropping the sign byte', () => {
    const r = [0x00, 0x80, ...new Array(31).fill(1)];
    const raw = ecdsaDerToRaw(der(0x30, 4 + 33 + 1, 0x02, 33, ...r, 0x02, 1, 0x05), 32);
    expect(raw?.subarray(0, 32)).toEqual(Uint8Array.from([0x80, ...new Array(31).fill(1)]));
    expect(raw?.subarray(32)).toEqual(Uint8Array.from([...new Array(31).fill(0), 5]));
  });
  it('refuses non-canonical or truncated encodings', () => {
    for (const bad of [
      der(0x30, 6, 0x02, 1, 0x05, 0x02, 1, 0x05, 0x00), // trailing byte
      der(0x30, 6, 0x02, 2, 0x00, 0x05, 0x02, 1), // truncated
      der(0x30, 7, 0x02, 2, 0x00, 0x05, 0x02, 1, 0x05), // non-minimal r
      der(0x30, 6, 0x02, 1, 0x85, 0x02, 1, 0x05), // negative r
      der(0x31, 6, 0x02, 1, 0x05, 0x02, 1, 0x05), // not a SEQUENCE
      der(0x30, 6, 0x02, 0, 0x02, 1, 0x05, 0x00), // empty integer
    ]) {
      expect(ecdsaDerToRaw(bad, 32)).toBeNull();
    }
  });
});
