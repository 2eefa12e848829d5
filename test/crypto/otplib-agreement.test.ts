import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { base32Encode } from '../../src/crypto/base32';
import { importOtpKey, type OtpAlgorithm } from '../../src/crypto/hotp';
import { generateTotp, timeStep, verifyTotp } from '../../src/crypto/totp';

/**
 * Cross-check against otplib v13, whose default crypto plugin computes HMAC
 * with @noble/hashes rather than WebCrypto, and whose default base32 plugin
 * (@scure/base) decodes the secret we encode: an independent implementation
 * of both halves.
 */

const SAMPLES = 300;

/** Random times from the epoch to year ~2500, a third of them past 2038-01-19. */
function randomTime(i: number): number {
  const [a] = crypto.getRandomValues(new Uint32Array(1));
  const fraction = a! / 2 ** 32;
  if (i % 3 === 0) return 2 ** 31 + Math.floor(fraction * 2 ** 33); // 2038 to ~2310
  return Math.floor(fraction * 2 ** 34); // 1970 to ~2514
}

const OTPLIB_ALGORITHM = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' } as const;

async function agree(algorithm: OtpAlgorithm, secretBytes: number, digits: 6 | 8, samples: number) {
  let post2038 = 0;
  for (let i = 0; i < samples; i++) {
    const secret = crypto.getRandomValues(new Uint8Array(secretBytes));
    const time = randomTime(i);
    if (time >= 2 ** 31) post2038++;
    const key = await importOtpKey(secret, algorithm);
    const ours = await generateTotp(key, time, { digits });
    const theirs = await generate({
      secret: base32Encode(secret),
      epoch: time,
      algorithm: OTPLIB_ALGORITHM[algorithm],
      digits,
      period: 30,
    });
    expect(ours, `secret ${base32Encode(secret)} at ${time}`).toBe(theirs);
    // Also with otplib handed the raw bytes, so our base32 is not in the loop.
    const theirsRaw = await generate({ secret, epoch: time, algorithm: OTPLIB_ALGORITHM[algorithm], digits, period: 30 });
    expect(theirsRaw).toBe(theirs);
    expect(await verifyTotp(key, theirs, time, { digits, windowSteps: 0 })).toBe(timeStep(time));
  }
  expect(post2038).toBeGreaterThan(samples / 4);
}

describe('agreement with otplib', () => {
  it(`SHA-1, 6 digits, 30 s: ${SAMPLES} random 20-byte secrets and times`, async () => {
    await agree('SHA-1', 20, 6, SAMPLES);
  });

  it('SHA-1, 8 digits', async () => {
    await agree('SHA-1', 20, 8, 50);
  });

  it('SHA-256, 6 digits, 32-byte secrets', async () => {
    await agree('SHA-256', 32, 6, 100);
  });

  it('SHA-512, 6 digits, 64-byte secrets', async () => {
    await agree('SHA-512', 64, 6, 100);
  });

  it('agrees at step boundaries and far-future times', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const key = await importOtpKey(secret);
    const times = [0, 29, 30, 59, 60, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 30, 253402300799];
    for (const time of times) {
      expect(await generateTotp(key, time), String(time)).toBe(await generate({ secret, epoch: time }));
    }
  });

  it('agrees with otplib on a 60-second period', async () => {
    for (let i = 0; i < 20; i++) {
      const secret = crypto.getRandomValues(new Uint8Array(20));
      const time = randomTime(i);
      const key = await importOtpKey(secret);
      expect(await generateTotp(key, time, { periodSeconds: 60 })).toBe(
        await generate({ secret, epoch: time, period: 60 }),
      );
    }
  });
});
