/**
 * Bench only (bench/shards.toml aliases `../crypto/password` to this file; the
 * app and its tests never see it): the password module's interface with a
 * salted SHA-256 in place of scrypt. scrypt costs about 200 ms of CPU per
 * login, so on a 2-core machine it, not D1, would set the journey rate and hide
 * any scaling with shards. This keeps a real check (a wrong password still
 * fails, in constant time) at a few microseconds, and never asks for a re-hash,
 * so a login's statements are the production ones minus none.
 */
import { base64Decode, base64Encode } from '../../src/crypto/base64';
import { timingSafeEqual } from '../../src/crypto/compare';
import { randomBytes } from '../../src/crypto/random';

// The bounds a configured cost is checked against (src/settings/env-vars.ts): the real ones.
export { MAX_MEMORY_BYTES, withinStoredBounds } from '../../src/crypto/password';

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export interface PasswordCheck {
  ok: boolean;
  needsRehash: boolean;
}

export const PRODUCTION_PARAMS: ScryptParams = { logN: 0, r: 0, p: 0 };
export const scryptWork = { derivations: 0, lastParams: null as ScryptParams | null };

const encoder = new TextEncoder();

async function digest(password: string, salt: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array([...salt, ...encoder.encode(password.normalize('NFKC'))]);
  scryptWork.derivations += 1;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input));
}

export function isWeakerThanCurrent(_params: ScryptParams, _current: ScryptParams): boolean {
  return false;
}

export async function hashPassword(password: string, _params: ScryptParams): Promise<string> {
  const salt = randomBytes(16);
  return `$bench-sha256$${base64Encode(salt)}$${base64Encode(await digest(password, salt))}`;
}

export async function verifyPassword(password: string, stored: string, _current: ScryptParams): Promise<PasswordCheck> {
  const match = /^\$bench-sha256\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) {
    await digest(password, new Uint8Array(16));
    return { ok: false, needsRehash: false };
  }
  const candidate = await digest(password, base64Decode(match[1]!));
  return { ok: timingSafeEqual(candidate, base64Decode(match[2]!)), needsRehash: false };
}

/** No one's password: same work as a real account, as in the production module (the cost is ignored here). */
export function dummyHash(_params: ScryptParams): string {
  return `$bench-sha256$${'A'.repeat(22)}==$${'A'.repeat(43)}=`;
}
