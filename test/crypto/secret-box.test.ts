import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode } from '../../src/crypto/base64';
import { timingSafeEqual, timingSafeEqualText } from '../../src/crypto/compare';
import { deriveAesGcmKey } from '../../src/crypto/keys';
import { open, seal } from '../../src/crypto/secret-box';

const SECRET = 'test-totp-key-0123456789abcdef0123456789abcdef';
const INFO = 'totp-secret';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function randomSecret(length = 20): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** Splits a box into its three dot-separated fields, decoding the binary ones. */
function fields(box: string): { version: string; iv: Uint8Array; ciphertext: Uint8Array } {
  const [version, iv, ciphertext] = box.split('.');
  return { version: version!, iv: base64Decode(iv!), ciphertext: base64Decode(ciphertext!) };
}

describe('seal and open', () => {
  it('round-trips with a key from deriveAesGcmKey', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    for (const length of [0, 1, 16, 20, 64, 1000]) {
      const plaintext = randomSecret(length);
      const box = await seal(key, plaintext, 'user-1');
      expect(await open(key, box, 'user-1')).toEqual(plaintext);
    }
  });

  it('a key derived again from the same secret and info opens the box', async () => {
    const plaintext = randomSecret();
    const box = await seal(await deriveAesGcmKey(SECRET, INFO), plaintext, 'user-1');
    expect(await open(await deriveAesGcmKey(SECRET, INFO), box, 'user-1')).toEqual(plaintext);
  });

  it('produces v1.<12-byte IV>.<ciphertext + 16-byte tag>', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const plaintext = randomSecret(20);
    const box = await seal(key, plaintext, 'user-1');
    expect(box).toMatch(/^v1\.[A-Za-z0-9+/]+={0,2}\.[A-Za-z0-9+/]+={0,2}$/);
    const { version, iv, ciphertext } = fields(box);
    expect(version).toBe('v1');
    expect(iv).toHaveLength(12);
    expect(ciphertext).toHaveLength(20 + 16);
    // The plaintext is not in there in the clear.
    expect(box).not.toContain(base64Encode(plaintext));
  });

  it('two seals of the same plaintext differ (fresh IV each time)', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const plaintext = randomSecret();
    const a = await seal(key, plaintext, 'user-1');
    const b = await seal(key, plaintext, 'user-1');
    expect(a).not.toBe(b);
    expect(fields(a).iv).not.toEqual(fields(b).iv);
    expect(fields(a).ciphertext).not.toEqual(fields(b).ciphertext);
    expect(await open(key, a, 'user-1')).toEqual(plaintext);
    expect(await open(key, b, 'user-1')).toEqual(plaintext);
  });

  it('returns null for a tampered ciphertext, IV or tag', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const box = await seal(key, randomSecret(20), 'user-1');
    const { version, iv, ciphertext } = fields(box);
    const rebuild = (ivBytes: Uint8Array, ctBytes: Uint8Array) =>
      `${version}.${base64Encode(ivBytes)}.${base64Encode(ctBytes)}`;
    // Flip one bit in each byte position in turn: the body, then the tag.
    for (let i = 0; i < ciphertext.length; i++) {
      const tampered = ciphertext.slice();
      tampered[i]! ^= 0x01;
      expect(await open(key, rebuild(iv, tampered), 'user-1'), `byte ${i}`).toBeNull();
    }
    const tamperedIv = iv.slice();
    tamperedIv[0]! ^= 0x80;
    expect(await open(key, rebuild(tamperedIv, ciphertext), 'user-1')).toBeNull();
    // Truncated tag, dropped tag, extended ciphertext.
    expect(await open(key, rebuild(iv, ciphertext.slice(0, -1)), 'user-1')).toBeNull();
    expect(await open(key, rebuild(iv, ciphertext.slice(0, -16)), 'user-1')).toBeNull();
    expect(await open(key, rebuild(iv, new Uint8Array([...ciphertext, 0])), 'user-1')).toBeNull();
    // The untouched box still opens: the failures above are the tampering's doing.
    expect(await open(key, rebuild(iv, ciphertext), 'user-1')).not.toBeNull();
  });

  it('returns null for different associated data', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const box = await seal(key, randomSecret(), 'user-1');
    expect(await open(key, box, 'user-2')).toBeNull();
    expect(await open(key, box, 'user-1 ')).toBeNull();
    expect(await open(key, box, 'User-1')).toBeNull();
    expect(await open(key, box, '')).toBeNull();
    expect(await open(key, box, 'user-1')).not.toBeNull();
  });

  it('binds the empty associated data too', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const plaintext = randomSecret();
    const box = await seal(key, plaintext, '');
    expect(await open(key, box, '')).toEqual(plaintext);
    expect(await open(key, box, 'user-1')).toBeNull();
  });

  it('returns null for a different key', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const box = await seal(key, randomSecret(), 'user-1');
    const otherInfo = await deriveAesGcmKey(SECRET, 'recovery-codes');
    const otherSecret = await deriveAesGcmKey(`${SECRET}x`, INFO);
    expect(await open(otherInfo, box, 'user-1')).toBeNull();
    expect(await open(otherSecret, box, 'user-1')).toBeNull();
  });

  it.each([
    '',
    '.',
    '..',
    'v1',
    'v1.',
    'v1..',
    'v1.AAAAAAAAAAAAAAAA.',
    'v1..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'v1.AAAAAAAAAAAAAAAA.AAAA',
    'v1.!!!!.@@@@',
    'v1.A.A',
    'not a box at all',
    'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAA',
  ])('returns null for the garbage string %j', async (garbage) => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    await expect(open(key, garbage, 'user-1')).resolves.toBeNull();
  });

  it('returns null for another version prefix', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const box = await seal(key, randomSecret(), 'user-1');
    expect(await open(key, box.replace(/^v1\./, 'v2.'), 'user-1')).toBeNull();
    expect(await open(key, box.replace(/^v1\./, 'V1.'), 'user-1')).toBeNull();
    expect(await open(key, box.replace(/^v1\./, ''), 'user-1')).toBeNull();
  });

  it('returns null for a box with anything appended after its last field', async () => {
    const key = await deriveAesGcmKey(SECRET, INFO);
    const box = await seal(key, randomSecret(), 'user-1');
    expect(await open(key, `${box}.`, 'user-1')).toBeNull();
    expect(await open(key, `${box}.extra`, 'user-1')).toBeNull();
  });
});

describe('timingSafeEqual', () => {
  it('is true for equal arrays, including empty ones', () => {
    expect(timingSafeEqual(new Uint8Array(), new Uint8Array())).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    const random = randomSecret(32);
    expect(timingSafeEqual(random, random.slice())).toBe(true);
  });

  it('is false for a difference in any single byte or bit', () => {
    const a = randomSecret(32);
    for (let i = 0; i < a.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const b = a.slice();
        b[i]! ^= bit;
        expect(timingSafeEqual(a, b), `byte ${i} bit ${bit}`).toBe(false);
      }
    }
  });

  it('is false for different lengths, even when one is a prefix of the other', () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(), new Uint8Array([0]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([0]), new Uint8Array([0, 0]))).toBe(false);
  });

  it('timingSafeEqualText compares strings as UTF-8', () => {
    expect(timingSafeEqualText('123456', '123456')).toBe(true);
    expect(timingSafeEqualText('', '')).toBe(true);
    expect(timingSafeEqualText('123456', '123457')).toBe(false);
    expect(timingSafeEqualText('123456', '12345')).toBe(false);
    expect(timingSafeEqualText('é', 'é')).toBe(true);
    // Same UTF-16 length, different bytes; and NFC vs NFD (no normalization here).
    expect(timingSafeEqualText('é', 'e')).toBe(false);
    expect(timingSafeEqualText('\u00e9', 'e\u0301')).toBe(false);
    expect(timingSafeEqualText('１２３４５６', '123456')).toBe(false);
  });
});
