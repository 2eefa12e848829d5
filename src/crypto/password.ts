import { scryptAsync } from '@noble/hashes/scrypt.js';
import { SCRYPT_KEY_BYTES, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R, SCRYPT_SALT_BYTES } from '../settings/tunables';
import { base64Decode, base64Encode } from './base64';
import { withHashSlot } from './hash-gate';
import { timingSafeEqual } from './compare';
import { randomBytes } from './random';

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/**
 * The production cost (config.ts says why): SCRYPT_PARAMS's default, and the
 * floor a deployment's SCRYPT_PARAMS may not go below (src/env-vars.ts). The
 * cost in use is `settings.passwordHashCost`; only the test pool lowers it.
 */
export const PRODUCTION_PARAMS: ScryptParams = { logN: SCRYPT_LOG_N, r: SCRYPT_R, p: SCRYPT_P };

/** Bounds on what a stored string may ask for, so a corrupt row cannot exhaust the isolate. */
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;
/**
 * The fields' bounds alone still allow 128 * r * 2^ln = 4 GiB (ln=20, r=32),
 * which noble refuses with a throw, or 1 GiB (ln=20, r=8), which it tries to
 * allocate in a 128 MB isolate. Twice today's 16 MiB leaves room to raise N or r.
 */
export const MAX_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * What a stored hash may ask for, and so what a configured cost may be: a
 * cost outside these bounds would store hashes that no later login verifies.
 */
export function withinStoredBounds(params: ScryptParams): boolean {
  const { logN, r, p } = params;
  if (logN < 1 || logN > MAX_LOG_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return false;
  return 128 * r * 2 ** logN <= MAX_MEMORY_BYTES;
}

const encoder = new TextEncoder();

const SCRYPT_YIELD_EVERY_MS = 4;

/**
 * NIST SP 800-63B §5.1.1.2: normalize with NFKC so the same passphrase typed on
 * another keyboard still matches. Never trimmed or truncated.
 */
function passwordBytes(password: string): Uint8Array {
  return encoder.encode(password.normalize('NFKC'));
}

/**
 * Derivations run in this isolate and the cost of the last one. Read only by
 * the enumeration test, which proves (without timing) that an unknown username
 * costs the same scrypt work as a wrong password.
 */
export const scryptWork = { derivations: 0, lastParams: null as ScryptParams | null };

/**
 * `slot: 'held'`: the caller runs inside withHashSlot already (a password attempt
 * whose budget reservation shares the slot: core/passwords/password-check.ts);
 * otherwise the derivation takes a slot of its own.
 */
export interface HashOptions {
  slot?: 'held';
}

function derive(password: string, salt: Uint8Array, params: ScryptParams, options: HashOptions = {}): Promise<Uint8Array> {
  scryptWork.derivations += 1;
  scryptWork.lastParams = params;
  const work = () =>
    scryptAsync(passwordBytes(password), salt, {
      N: 2 ** params.logN,
      r: params.r,
      p: params.p,
      dkLen: SCRYPT_KEY_BYTES,
      // Where the clock advances (local workerd), give the event loop back every
      // few milliseconds so other requests are served between slices of a hash.
      asyncTick: SCRYPT_YIELD_EVERY_MS,
    });
  return options.slot === 'held' ? work() : withHashSlot(work);
}

/**
 * `$scrypt$ln=14,r=8,p=5$<salt>$<hash>`: the string records everything needed
 * to verify it. `params` is `settings.passwordHashCost` (no default, so no
 * caller can hash at another cost than the deployment's by forgetting it).
 */
export async function hashPassword(password: string, params: ScryptParams, options: HashOptions = {}): Promise<string> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const hash = await derive(password, salt, params, options);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${base64Encode(salt)}$${base64Encode(hash)}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Uint8Array;
  hash: Uint8Array;
}

function parseHash(stored: string): ParsedHash | null {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return null;
  const params = { logN: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (!withinStoredBounds(params)) return null;
  try {
    return { params, salt: base64Decode(match[4]!), hash: base64Decode(match[5]!) };
  } catch {
    return null;
  }
}

export interface PasswordCheck {
  ok: boolean;
  /** The hash was made with weaker parameters than the configured ones: store a fresh one. */
  needsRehash: boolean;
}

/**
 * A re-hash must only ever upgrade: true when the `current` (configured)
 * parameters are at least the stored ones in each of N, r and p, and higher in
 * one. A hash that is stronger in any of them (a deployment that raised the
 * cost, then lowered it) is left as it is, even if it is weaker in another:
 * replacing it would lower that one.
 */
export function isWeakerThanCurrent(params: ScryptParams, current: ScryptParams): boolean {
  const { logN, r, p } = params;
  const noneStronger = logN <= current.logN && r <= current.r && p <= current.p;
  const someWeaker = logN < current.logN || r < current.r || p < current.p;
  return noneStronger && someWeaker;
}

/**
 * Verifies in constant time. A malformed stored hash never matches.
 * `current` is `settings.passwordHashCost`, against which `needsRehash` is judged.
 */
export async function verifyPassword(password: string, stored: string, current: ScryptParams, options: HashOptions = {}): Promise<PasswordCheck> {
  const parsed = parseHash(stored);
  if (!parsed) return { ok: false, needsRehash: false };
  const candidate = await derive(password, parsed.salt, parsed.params, options);
  return { ok: timingSafeEqual(candidate, parsed.hash), needsRehash: isWeakerThanCurrent(parsed.params, current) };
}

/**
 * A hash of no one's password at `params`, the configured cost. Checking an
 * unknown username against it spends the same scrypt work as a real account
 * (hashed at that same cost), so the answer's timing does not reveal which
 * usernames exist. Its all-zero hash is no derivation's output (2^-256).
 */
export function dummyHash(params: ScryptParams): string {
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$AAAAAAAAAAAAAAAAAAAAAA==$${'A'.repeat(43)}=`;
}
