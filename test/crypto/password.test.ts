import { scrypt } from '@noble/hashes/scrypt.js';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode } from '../../src/crypto/base64';
import { PRODUCTION_PARAMS, dummyHash, hashPassword, scryptWork, verifyPassword, type ScryptParams } from '../../src/crypto/password';

/** Cheap parameters (1/80 of production) for everything that is not about production cost. */
const FAST: ScryptParams = { logN: 10, r: 8, p: 1 };

/**
 * One production-cost scrypt takes ~0.2-0.5 s, but ~10x that in the vitest
 * Workers runtime when @noble/hashes is not pre-bundled (see vitest.config.ts)
 * or the machine is busy, so tests that run one get a long timeout.
 */
const SLOW_MS = 60_000;

const FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function parts(stored: string) {
  const match = FORMAT.exec(stored);
  if (!match) throw new Error(`not a scrypt hash: ${stored}`);
  return {
    logN: Number(match[1]),
    r: Number(match[2]),
    p: Number(match[3]),
    salt: base64Decode(match[4]!),
    hash: base64Decode(match[5]!),
    saltText: match[4]!,
    hashText: match[5]!,
  };
}

describe('hashPassword and verifyPassword at production parameters', () => {
  // The only production-cost scrypt runs in this file: one hash and three verifies.
  it('uses $scrypt$ln=14,r=8,p=5$<salt>$<hash> and verifies the right password only', async () => {
    expect(PRODUCTION_PARAMS).toEqual({ logN: 14, r: 8, p: 5 });
    const stored = await hashPassword('correct horse battery staple', PRODUCTION_PARAMS);
    expect(stored).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    const { salt, hash } = parts(stored);
    expect(salt).toHaveLength(16);
    expect(hash).toHaveLength(32);

    expect(await verifyPassword('correct horse battery staple', stored, PRODUCTION_PARAMS)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('correct horse battery stapl', stored, PRODUCTION_PARAMS)).toEqual({ ok: false, needsRehash: false });
  }, SLOW_MS);

  it('the dummy hash at production parameters is a well-formed production hash that matches nothing', async () => {
    const DUMMY_HASH = dummyHash(PRODUCTION_PARAMS);
    const { logN, r, p, salt, hash } = parts(DUMMY_HASH);
    expect({ logN, r, p }).toEqual(PRODUCTION_PARAMS);
    expect(salt).toHaveLength(16);
    expect(hash).toHaveLength(32);
    expect(await verifyPassword('', DUMMY_HASH, PRODUCTION_PARAMS)).toEqual({ ok: false, needsRehash: false });
  }, SLOW_MS);
});

describe('hashPassword and verifyPassword at other parameters', () => {
  it('records the parameters it was given and the stored hash is scrypt of the password', async () => {
    const stored = await hashPassword('hunter2hunter2', FAST);
    const { logN, r, p, salt, hashText } = parts(stored);
    expect({ logN, r, p }).toEqual(FAST);
    // Independent recomputation with @noble/hashes' synchronous scrypt.
    const expected = scrypt(new TextEncoder().encode('hunter2hunter2'), salt, { N: 2 ** 10, r: 8, p: 1, dkLen: 32 });
    expect(hashText).toBe(base64Encode(expected));
  });

  it('verifies a lower-cost hash and asks for a rehash', async () => {
    const stored = await hashPassword('hunter2hunter2', FAST);
    expect(await verifyPassword('hunter2hunter2', stored, PRODUCTION_PARAMS)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('hunter2hunter3', stored, PRODUCTION_PARAMS)).toEqual({ ok: false, needsRehash: true });
  });

  it('asks for a rehash when only r or only p differs', async () => {
    // Both cheaper than production: r = 1 costs 1/40 of it, p = 1 costs 1/5.
    const lowR = await hashPassword('pw', { logN: 14, r: 1, p: 5 });
    expect(await verifyPassword('pw', lowR, PRODUCTION_PARAMS)).toEqual({ ok: true, needsRehash: true });
    const lowP = await hashPassword('pw', { logN: 14, r: 8, p: 1 });
    expect(await verifyPassword('pw', lowP, PRODUCTION_PARAMS)).toEqual({ ok: true, needsRehash: true });
  }, SLOW_MS);

  it('uses a fresh salt for every hash', async () => {
    const a = parts(await hashPassword('same password', FAST));
    const b = parts(await hashPassword('same password', FAST));
    expect(a.saltText).not.toBe(b.saltText);
    expect(a.hashText).not.toBe(b.hashText);
  });

  it('fails when the hash, the salt or the parameters of a stored string are changed', async () => {
    const stored = await hashPassword('tamper-proof', FAST);
    const { saltText, hashText } = parts(stored);
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    expect(await verifyPassword('tamper-proof', stored.replace(hashText, flip(hashText)), PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword('tamper-proof', stored.replace(saltText, flip(saltText)), PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword('tamper-proof', stored.replace('ln=10', 'ln=11'), PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword('tamper-proof', stored.replace('p=1', 'p=2'), PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    // A truncated hash is a different length: no match, and no throw.
    expect(await verifyPassword('tamper-proof', stored.slice(0, -8), PRODUCTION_PARAMS)).toMatchObject({ ok: false });
  });
});

describe('verifyPassword with malformed stored strings', () => {
  const salt = 'AAAAAAAAAAAAAAAAAAAAAA==';
  const hash = `${'A'.repeat(43)}=`;
  const malformed = [
    '',
    'password',
    '$scrypt$',
    `$scrypt$ln=10,r=8,p=1$${salt}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$`,
    `$scrypt$ln=10,r=8,p=1$$${hash}`,
    `$scrypt$ln=10,r=8$${salt}$${hash}`,
    `$scrypt$ln=10,p=1,r=8$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash}$`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash}$extra`,
    ` $scrypt$ln=10,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash}\n`,
    `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$A$${hash}`, // not base64: atob throws
    `$scrypt$ln=10,r=8,p=1$${salt}$A`,
    `$scrypt$ln=10,r=8,p=1$====$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$AA=A`,
    `$scrypt$ln=10,r=8,p=1$${salt.replace('A', '-')}$${hash}`, // base64url is not base64
    `$scrypt$ln=ten,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=-1,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=1.5,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=0,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=0$${salt}$${hash}`,
    `$scrypt$ln=100,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=21,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=33,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=17$${salt}$${hash}`,
  ];

  it.each(malformed)('refuses %j without throwing', async (stored) => {
    await expect(verifyPassword('password', stored, PRODUCTION_PARAMS)).resolves.toEqual({ ok: false, needsRehash: false });
  });

  // The parameters are within each field's bound, but together ask for more
  // memory than a Workers isolate can spare (128 * r * 2^ln bytes: 4 GiB, which
  // noble refuses by throwing; 1 GiB, which it tries to allocate; 128, 64 and
  // 64 MiB). A corrupt row must be refused at once, not throw or run for seconds.
  it.each([
    `$scrypt$ln=20,r=32,p=1$${salt}$${hash}`,
    `$scrypt$ln=20,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=17,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=16,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=14,r=32,p=1$${salt}$${hash}`,
  ])('refuses %j, whose parameters would exhaust the isolate', async (stored) => {
    await expect(verifyPassword('password', stored, PRODUCTION_PARAMS)).resolves.toEqual({ ok: false, needsRehash: false });
  });

  it('still accepts parameters at the memory bound (32 MiB): scrypt runs at them', async () => {
    // The dummy hash does not match, but the parameters were accepted and scrypt
    // ran. Its N is above today's, so it is not re-hashed (only upgrades are).
    const atBound = `$scrypt$ln=15,r=8,p=1$${salt}$${hash}`;
    const before = scryptWork.derivations;
    await expect(verifyPassword('password', atBound, PRODUCTION_PARAMS)).resolves.toEqual({ ok: false, needsRehash: false });
    expect(scryptWork.derivations).toBe(before + 1);
    expect(scryptWork.lastParams).toEqual({ logN: 15, r: 8, p: 1 });
  }, SLOW_MS);
});

describe('password normalization', () => {
  it('applies NFKC: fullwidth and ASCII "password" verify against each other', async () => {
    const fullwidth = 'ｐａｓｓｗｏｒｄ';
    expect(fullwidth).not.toBe('password');
    const fromFullwidth = await hashPassword(fullwidth, FAST);
    const fromAscii = await hashPassword('password', FAST);
    expect(await verifyPassword('password', fromFullwidth, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
    expect(await verifyPassword(fullwidth, fromAscii, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
  });

  it('treats composed and decomposed accents as one password', async () => {
    const composed = 'caf\u00e9-passw\u00f6rd';
    const decomposed = 'cafe\u0301-passwo\u0308rd';
    expect(composed).not.toBe(decomposed);
    const stored = await hashPassword(decomposed, FAST);
    expect(await verifyPassword(composed, stored, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
  });

  it('does not fold case or trim', async () => {
    const stored = await hashPassword('password', FAST);
    expect(await verifyPassword('Password', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword('password ', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword(' password', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
  });
});

describe('long and non-ASCII passwords', () => {
  it('handles a 256-character password without truncating it', async () => {
    const long = Array.from({ length: 256 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join('');
    expect(long).toHaveLength(256);
    const stored = await hashPassword(long, FAST);
    expect(await verifyPassword(long, stored, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
    expect(await verifyPassword(long.slice(0, 255), stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword(long.slice(0, 72), stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    const lastChanged = long.slice(0, 255) + (long[255] === 'x' ? 'y' : 'x');
    expect(await verifyPassword(lastChanged, stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
  });

  it('handles emoji, including multi-code-point sequences', async () => {
    const emoji = '🔐🦄 👩‍💻 🇳🇿 pässwörd';
    const stored = await hashPassword(emoji, FAST);
    expect(await verifyPassword(emoji, stored, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
    expect(await verifyPassword('🔐🦄 👩‍💻 🇳🇿 passwörd', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
    expect(await verifyPassword('🔐🦄 👩 🇳🇿 pässwörd', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
  });

  it('handles the empty password as just another password', async () => {
    const stored = await hashPassword('', FAST);
    expect(await verifyPassword('', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: true });
    expect(await verifyPassword(' ', stored, PRODUCTION_PARAMS)).toMatchObject({ ok: false });
  });
});
