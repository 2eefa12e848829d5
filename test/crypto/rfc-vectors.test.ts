import { describe, expect, it } from 'vitest';
import { hotp, importOtpKey, verifyHotp, type OtpAlgorithm } from '../../src/crypto/hotp';
import { generateTotp, timeStep, verifyTotp } from '../../src/crypto/totp';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * RFC 4226 Appendix D: secret = 0x3132333435363738393031323334353637383930
 * (ASCII "12345678901234567890"), HMAC-SHA-1, Digit = 6, counters 0 to 9.
 */
const RFC4226_SECRET = ascii('12345678901234567890');
const RFC4226_HOTP = [
  '755224',
  '287082',
  '359152',
  '969429',
  '338314',
  '254676',
  '287922',
  '162583',
  '399871',
  '520489',
];

/**
 * RFC 4226 Appendix D also lists the decimal value of the dynamically truncated
 * HMAC ("Truncated" column); the 6-digit codes above are these modulo 10^6.
 * Checked through our 8-digit codes, which are the same values modulo 10^8.
 */
const RFC4226_TRUNCATED = [
  1284755224, 1094287082, 137359152, 1726969429, 1640338314, 868254676, 1918287922, 82162583, 673399871,
  645520489,
];

describe('RFC 4226 Appendix D (HOTP)', () => {
  RFC4226_HOTP.forEach((expected, counter) => {
    it(`counter ${counter} gives ${expected}`, async () => {
      const key = await importOtpKey(RFC4226_SECRET);
      expect(await hotp(key, counter)).toBe(expected);
      expect(await hotp(key, counter, 6)).toBe(expected);
      expect(await verifyHotp(key, expected, counter)).toBe(true);
    });
  });

  it('8-digit codes are the Appendix D truncated values modulo 10^8', async () => {
    const key = await importOtpKey(RFC4226_SECRET);
    for (const [counter, truncated] of RFC4226_TRUNCATED.entries()) {
      expect(await hotp(key, counter, 8)).toBe(String(truncated % 10 ** 8).padStart(8, '0'));
    }
  });

  it('verifyHotp refuses the neighbouring counter and a wrong code', async () => {
    const key = await importOtpKey(RFC4226_SECRET);
    expect(await verifyHotp(key, '755224', 1)).toBe(false);
    expect(await verifyHotp(key, '755225', 0)).toBe(false);
    expect(await verifyHotp(key, '75522', 0)).toBe(false);
  });

  it('rejects counters and digit counts it cannot honour', async () => {
    const key = await importOtpKey(RFC4226_SECRET);
    await expect(hotp(key, -1)).rejects.toThrow(RangeError);
    await expect(hotp(key, 1.5)).rejects.toThrow(RangeError);
    await expect(hotp(key, 2 ** 53)).rejects.toThrow(RangeError);
    await expect(hotp(key, 0, 5)).rejects.toThrow(RangeError);
    await expect(hotp(key, 0, 9)).rejects.toThrow(RangeError);
  });
});

/**
 * RFC 6238 Appendix B: T0 = 0, X = 30, 8 digits. The seeds are the ASCII
 * strings "1234567890" repeated to the hash's output length: 20 bytes for
 * HMAC-SHA-1, 32 for HMAC-SHA-256 and 64 for HMAC-SHA-512 (the errata-corrected
 * seeds from the reference implementation in Appendix A).
 */
const RFC6238_SEEDS: Record<OtpAlgorithm, Uint8Array> = {
  'SHA-1': ascii('12345678901234567890'),
  'SHA-256': ascii('12345678901234567890123456789012'),
  'SHA-512': ascii('1234567890123456789012345678901234567890123456789012345678901234'),
};

/** [Unix time, T as given in hex, TOTP, algorithm]: the 18 rows of the Appendix B table. */
const RFC6238_VECTORS: Array<[number, string, string, OtpAlgorithm]> = [
  [59, '0000000000000001', '94287082', 'SHA-1'],
  [59, '0000000000000001', '46119246', 'SHA-256'],
  [59, '0000000000000001', '90693936', 'SHA-512'],
  [1111111109, '00000000023523EC', '07081804', 'SHA-1'],
  [1111111109, '00000000023523EC', '68084774', 'SHA-256'],
  [1111111109, '00000000023523EC', '25091201', 'SHA-512'],
  [1111111111, '00000000023523ED', '14050471', 'SHA-1'],
  [1111111111, '00000000023523ED', '67062674', 'SHA-256'],
  [1111111111, '00000000023523ED', '99943326', 'SHA-512'],
  [1234567890, '000000000273EF07', '89005924', 'SHA-1'],
  [1234567890, '000000000273EF07', '91819424', 'SHA-256'],
  [1234567890, '000000000273EF07', '93441116', 'SHA-512'],
  [2000000000, '0000000003F940AA', '69279037', 'SHA-1'],
  [2000000000, '0000000003F940AA', '90698825', 'SHA-256'],
  [2000000000, '0000000003F940AA', '38618901', 'SHA-512'],
  [20000000000, '0000000027BC86AA', '65353130', 'SHA-1'],
  [20000000000, '0000000027BC86AA', '77737706', 'SHA-256'],
  [20000000000, '0000000027BC86AA', '47863826', 'SHA-512'],
];

describe('RFC 6238 Appendix B (TOTP)', () => {
  it('has all 18 rows', () => {
    expect(RFC6238_VECTORS).toHaveLength(18);
  });

  for (const [time, stepHex, expected, algorithm] of RFC6238_VECTORS) {
    it(`${algorithm} at ${time} gives ${expected}`, async () => {
      // RFC 6238 §4.2: T = floor((Current Unix time - T0) / X).
      expect(timeStep(time)).toBe(Number.parseInt(stepHex, 16));
      const key = await importOtpKey(RFC6238_SEEDS[algorithm], algorithm);
      expect(await generateTotp(key, time, { digits: 8 })).toBe(expected);
      expect(await generateTotp(key, time, { digits: 8, periodSeconds: 30 })).toBe(expected);
      expect(await verifyTotp(key, expected, time, { digits: 8, windowSteps: 0 })).toBe(timeStep(time));
    });
  }

  it('6-digit codes are the last six digits of the 8-digit ones', async () => {
    const key = await importOtpKey(RFC6238_SEEDS['SHA-1']);
    expect(await generateTotp(key, 59)).toBe('287082');
    expect(await generateTotp(key, 1111111109)).toBe('081804');
    expect(await generateTotp(key, 20000000000)).toBe('353130');
  });

  it('the same seed under another hash gives another code', async () => {
    // Guards against the algorithm argument being ignored: with the SHA-1 seed
    // imported as SHA-256 the first Appendix B row must not come out.
    const key = await importOtpKey(RFC6238_SEEDS['SHA-1'], 'SHA-256');
    expect(await generateTotp(key, 59, { digits: 8 })).not.toBe('94287082');
  });
});

describe('timeStep (RFC 6238 §4.2)', () => {
  it('floors to the 30-second step by default', () => {
    expect(timeStep(0)).toBe(0);
    expect(timeStep(29)).toBe(0);
    expect(timeStep(29.999)).toBe(0);
    expect(timeStep(30)).toBe(1);
    expect(timeStep(59)).toBe(1);
    expect(timeStep(60)).toBe(2);
  });

  it('honours another period', () => {
    expect(timeStep(59, 60)).toBe(0);
    expect(timeStep(60, 60)).toBe(1);
    expect(timeStep(1111111109, 60)).toBe(18518518);
  });
});

describe('verifyTotp', () => {
  const seed = RFC6238_SEEDS['SHA-1'];
  // 1111111111 lies in step 0x23523ED = 37037037 (Appendix B).
  const now = 1111111111;
  const step = 37037037;

  async function codeAt(stepNumber: number, digits = 6): Promise<string> {
    return hotp(await importOtpKey(seed), stepNumber, digits);
  }

  it('returns the matched step for the current code', async () => {
    const key = await importOtpKey(seed);
    expect(await verifyTotp(key, await codeAt(step), now)).toBe(step);
    expect(await verifyTotp(key, '14050471', now, { digits: 8 })).toBe(step);
  });

  it('accepts one step before and one after with windowSteps 1', async () => {
    const key = await importOtpKey(seed);
    expect(await verifyTotp(key, await codeAt(step - 1), now, { windowSteps: 1 })).toBe(step - 1);
    expect(await verifyTotp(key, await codeAt(step + 1), now, { windowSteps: 1 })).toBe(step + 1);
    // Appendix B: 1111111109 is step 0x23523EC, one before 1111111111's step.
    expect(await verifyTotp(key, '07081804', now, { digits: 8, windowSteps: 1 })).toBe(step - 1);
  });

  it('uses a window of one step by default', async () => {
    const key = await importOtpKey(seed);
    expect(await verifyTotp(key, await codeAt(step - 1), now)).toBe(step - 1);
    expect(await verifyTotp(key, await codeAt(step + 1), now)).toBe(step + 1);
    expect(await verifyTotp(key, await codeAt(step + 2), now)).toBeNull();
  });

  it('refuses codes two steps off', async () => {
    const key = await importOtpKey(seed);
    const before = await codeAt(step - 2);
    const after = await codeAt(step + 2);
    // Sanity: these codes are distinct from the ones the window does accept.
    const inWindow = await Promise.all([step - 1, step, step + 1].map((s) => codeAt(s)));
    expect(inWindow).not.toContain(before);
    expect(inWindow).not.toContain(after);
    expect(await verifyTotp(key, before, now, { windowSteps: 1 })).toBeNull();
    expect(await verifyTotp(key, after, now, { windowSteps: 1 })).toBeNull();
    // ...but a wider window takes them.
    expect(await verifyTotp(key, before, now, { windowSteps: 2 })).toBe(step - 2);
  });

  it('with windowSteps 0 accepts only the current step', async () => {
    const key = await importOtpKey(seed);
    expect(await verifyTotp(key, await codeAt(step), now, { windowSteps: 0 })).toBe(step);
    expect(await verifyTotp(key, await codeAt(step - 1), now, { windowSteps: 0 })).toBeNull();
    expect(await verifyTotp(key, await codeAt(step + 1), now, { windowSteps: 0 })).toBeNull();
  });

  it('returns null for a code of the wrong length', async () => {
    const key = await importOtpKey(seed);
    const code = await codeAt(step);
    expect(await verifyTotp(key, code.slice(1), now)).toBeNull();
    expect(await verifyTotp(key, `${code}0`, now)).toBeNull();
    expect(await verifyTotp(key, '', now)).toBeNull();
    // The 8-digit code is not accepted where 6 digits are expected, nor the reverse.
    expect(await verifyTotp(key, '14050471', now)).toBeNull();
    expect(await verifyTotp(key, '050471', now, { digits: 8 })).toBeNull();
    expect(await verifyTotp(key, '050471', now, { digits: 6 })).toBe(step);
  });

  it('returns null for a wrong code', async () => {
    const key = await importOtpKey(seed);
    const window = await Promise.all([step - 1, step, step + 1].map((s) => codeAt(s)));
    const wrong = ['000000', '123456', '999999'].find((c) => !window.includes(c))!;
    expect(await verifyTotp(key, wrong, now)).toBeNull();
    const code = await codeAt(step);
    const flipped = code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
    expect(window).not.toContain(flipped);
    expect(await verifyTotp(key, flipped, now)).toBeNull();
    expect(await verifyTotp(key, 'abcdef', now)).toBeNull();
  });

  it('returns null for a code from another key', async () => {
    const key = await importOtpKey(seed);
    const other = await importOtpKey(ascii('abcdefghijabcdefghij'));
    const foreign = await generateTotp(other, now);
    const window = await Promise.all([step - 1, step, step + 1].map((s) => codeAt(s)));
    expect(window).not.toContain(foreign);
    expect(await verifyTotp(key, foreign, now)).toBeNull();
    expect(await verifyTotp(other, foreign, now)).toBe(step);
  });

  it('never tries a negative step near the epoch', async () => {
    const key = await importOtpKey(seed);
    expect(await verifyTotp(key, await codeAt(0), 0)).toBe(0);
    expect(await verifyTotp(key, await codeAt(1), 0)).toBe(1);
    expect(await verifyTotp(key, await codeAt(2), 0)).toBeNull();
  });
});
