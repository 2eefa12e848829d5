import { decodeBase64urlIgnorePadding, encodeBase64url, encodeBase64urlNoPadding } from '@oslojs/encoding';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64urlDecode } from '../../src/crypto/base64';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('base64urlDecode (RFC 4648 §5)', () => {
  it('decodes the RFC 4648 §10 vectors, unpadded and padded', () => {
    const vectors: [string, string, string][] = [
      ['', '', ''],
      ['f', 'Zg', 'Zg=='],
      ['fo', 'Zm8', 'Zm8='],
      ['foo', 'Zm9v', 'Zm9v'],
      ['foob', 'Zm9vYg', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy', 'Zm9vYmFy'],
    ];
    for (const [plain, unpadded, padded] of vectors) {
      expect(text(base64urlDecode(unpadded)), unpadded).toBe(plain);
      expect(text(base64urlDecode(padded)), padded).toBe(plain);
    }
  });

  it('uses the URL alphabet: - and _ are 62 and 63; + and / are refused', () => {
    expect([...base64urlDecode('-_-_')!]).toEqual([0xfb, 0xff, 0xbf]);
    expect(base64urlDecode('+/+/')).toBeNull();
  });

  it('refuses a lone final character, non-zero unused bits, misplaced or excess padding, and other characters', () => {
    for (const bad of ['A', 'AAAAA', 'Zh', 'Zm9=', 'Zg===', 'Zm9v=', 'Zm9vYmE==', '=', '==', 'Zg==Zg', 'Zm 9', 'Zm9\u00e9', 'Zm9\u{1F600}', 'Zm9v\n']) {
      expect(base64urlDecode(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('agrees with @oslojs/encoding on every byte string, padded or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(base64urlDecode(encodeBase64urlNoPadding(bytes))).toEqual(bytes);
        expect(base64urlDecode(encodeBase64url(bytes))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts no text that @oslojs/encoding refuses, and decodes what both accept alike', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ '.split('');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 12 }), (candidate) => {
        let oslo: Uint8Array | null;
        try {
          oslo = decodeBase64urlIgnorePadding(candidate);
        } catch {
          oslo = null;
        }
        const ours = base64urlDecode(candidate);
        if (oslo === null) expect(ours, candidate).toBeNull();
        else if (ours !== null) expect(ours, candidate).toEqual(oslo);
      }),
      { numRuns: 5000 },
    );
  });
});
