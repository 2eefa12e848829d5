import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode } from '../../src/crypto/base32';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** RFC 4648 §10 test vectors for BASE32. */
const RFC4648_VECTORS: Array<[string, string]> = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

describe('base32Encode (RFC 4648 §10)', () => {
  for (const [input, padded] of RFC4648_VECTORS) {
    it(`"${input}" encodes to "${padded}" with padding`, () => {
      expect(base32Encode(ascii(input), true)).toBe(padded);
    });

    it(`"${input}" encodes to "${padded.replace(/=+$/, '')}" without padding`, () => {
      const unpadded = padded.replace(/=+$/, '');
      expect(base32Encode(ascii(input))).toBe(unpadded);
      expect(base32Encode(ascii(input), false)).toBe(unpadded);
    });
  }

  it('encodes every byte value with the RFC 4648 §6 alphabet', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = base32Encode(all);
    expect(text).toMatch(/^[A-Z2-7]+$/);
    expect(text).toHaveLength(Math.ceil((256 * 8) / 5));
    expect(base32Encode(new Uint8Array([0xff]), true)).toBe('74======');
    expect(base32Encode(new Uint8Array(5))).toBe('AAAAAAAA');
    expect(base32Encode(new Uint8Array(5).fill(0xff))).toBe('77777777');
  });
});

describe('base32Decode (RFC 4648 §10)', () => {
  for (const [output, padded] of RFC4648_VECTORS) {
    const unpadded = padded.replace(/=+$/, '');
    it(`"${padded}" decodes to "${output}", padded or not, in either case`, () => {
      for (const text of [padded, unpadded, padded.toLowerCase(), unpadded.toLowerCase()]) {
        expect(base32Decode(text), text).toEqual(ascii(output));
      }
    });
  }

  it('accepts mixed case', () => {
    expect(base32Decode('mZxW6yTbOi')).toEqual(ascii('foobar'));
  });
});

describe('base32 round trip', () => {
  it('decodes what it encodes for random bytes of lengths 0 to 40', () => {
    for (let length = 0; length <= 40; length++) {
      for (let trial = 0; trial < 5; trial++) {
        const bytes = crypto.getRandomValues(new Uint8Array(length));
        const unpadded = base32Encode(bytes);
        const padded = base32Encode(bytes, true);
        expect(unpadded).toHaveLength(Math.ceil((length * 8) / 5));
        expect(padded).toHaveLength(Math.ceil(length / 5) * 8);
        expect(padded.startsWith(unpadded)).toBe(true);
        expect(base32Decode(unpadded)).toEqual(bytes);
        expect(base32Decode(padded)).toEqual(bytes);
        expect(base32Decode(unpadded.toLowerCase())).toEqual(bytes);
      }
    }
  });
});

describe('base32Decode rejects invalid input', () => {
  it.each(['0', '1', '8', '9', '!', '-', ' ', '+', '/'])('refuses the character %j', (char) => {
    // Put the bad character in an otherwise valid 8-character group.
    expect(base32Decode(`MZXW6YT${char}`)).toBeNull();
    expect(base32Decode(`${char}ZXW6YTB`)).toBeNull();
  });

  it('refuses characters outside ASCII and padding in the middle', () => {
    expect(base32Decode('MZXW6YTé')).toBeNull();
    // Non-ASCII letters that String.prototype.toUpperCase maps into the alphabet.
    expect('ı'.toUpperCase()).toBe('I');
    expect(base32Decode('MZXW6YTı')).toBeNull();
    expect(base32Decode('ſZXW6YTB')).toBeNull();
    expect(base32Decode('MZXW6ß')).toBeNull();
    expect(base32Decode('MZ=W6YTB')).toBeNull();
    expect(base32Decode('MY======MZXW6YTB')).toBeNull();
  });

  it.each(['A', 'ABC', 'ABCDEF', 'ABCDEFGHI', 'ABCDEFGHIJK', 'ABCDEFGHIJKLMN', 'A=======', 'ABC=====', 'ABCDEF=='])(
    'refuses the impossible length of %j',
    (text) => {
      expect(base32Decode(text)).toBeNull();
    },
  );

  it('accepts every possible length', () => {
    // Lengths 2, 4, 5, 7 and 8 (mod 8) are what 1, 2, 3, 4 and 5 bytes encode to.
    expect(base32Decode('AA')).toEqual(new Uint8Array(1));
    expect(base32Decode('AAAA')).toEqual(new Uint8Array(2));
    expect(base32Decode('AAAAA')).toEqual(new Uint8Array(3));
    expect(base32Decode('AAAAAAA')).toEqual(new Uint8Array(4));
    expect(base32Decode('AAAAAAAA')).toEqual(new Uint8Array(5));
  });
});
