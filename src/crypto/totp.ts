import { hotp, MIN_DIGITS, verifyHotp } from './hotp';

export interface TotpOptions {
  digits?: number;
  periodSeconds?: number;
}

const DEFAULT_PERIOD_SECONDS = 30;

/** RFC 6238 §4.2: T = floor((now - T0) / X) with T0 = 0. */
export function timeStep(nowSeconds: number, periodSeconds = DEFAULT_PERIOD_SECONDS): number {
  return Math.floor(nowSeconds / periodSeconds);
}

/** The code for the time step that contains `nowSeconds`. */
export function generateTotp(key: CryptoKey, nowSeconds: number, options: TotpOptions = {}): Promise<string> {
  return hotp(key, timeStep(nowSeconds, options.periodSeconds), options.digits ?? MIN_DIGITS);
}

export interface TotpVerifyOptions extends TotpOptions {
  /** Steps accepted either side of now, for clock drift and typing time (RFC 6238 §5.2). */
  windowSteps?: number;
}

/**
 * Checks `code` against the steps around `nowSeconds` and returns the matched
 * step, or null. Every step in the window is computed and compared, match or
 * not, so the time taken does not tell which step matched. The caller must
 * refuse a step at or below the last one it accepted (RFC 6238 §5.2).
 */
export async function verifyTotp(
  key: CryptoKey,
  code: string,
  nowSeconds: number,
  options: TotpVerifyOptions = {},
): Promise<number | null> {
  const digits = options.digits ?? MIN_DIGITS;
  const windowSteps = options.windowSteps ?? 1;
  if (code.length !== digits) return null;
  const current = timeStep(nowSeconds, options.periodSeconds);
  const steps: number[] = [];
  for (let step = current - windowSteps; step <= current + windowSteps; step++) if (step >= 0) steps.push(step);
  const results = await Promise.all(steps.map((step) => verifyHotp(key, code, step, digits)));
  let matched: number | null = null;
  results.forEach((ok, i) => {
    if (ok && matched === null) matched = steps[i]!;
  });
  return matched;
}
