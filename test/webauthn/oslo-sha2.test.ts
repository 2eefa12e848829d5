import * as oslo from '@oslojs/crypto/sha2';
import { describe, expect, it } from 'vitest';
import * as replacement from '../../src/webauthn/oslo-sha2';

// The deployed bundle swaps oslo's SHA-2 module for src/webauthn/oslo-sha2.ts
// (wrangler.toml [alias]); the test pool does not apply that alias, so the two
// are compared here directly.
describe('the bundle\'s stand-in for @oslojs/crypto/sha2', () => {
  it('gives the same SHA-256 digests as oslo (FIPS 180-4 vectors and other lengths)', () => {
    const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(hex(replacement.sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(replacement.sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const length of [1, 55, 56, 63, 64, 65, 127, 128, 1000]) {
      const input = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(replacement.sha256(input)).toEqual(oslo.sha256(input));
    }
  });

  it('exports what @oslojs/webauthn imports from it', () => {
    expect(typeof replacement.sha256).toBe('function');
  });
});
