import { hasInvisibleOrControl } from '../core/identity';
import { MAX_MEMORY_BYTES, PRODUCTION_PARAMS, withinStoredBounds, type ScryptParams } from '../crypto/password';

/**
 * Strict readers for `[vars]` (API.md, Configuration): a value that is not
 * exactly what is documented fails loudly at the first request with a
 * ConfigError naming the variable (never echoing the value), instead of being
 * coerced, clamped or ignored.
 */

/** A deployment mistake: thrown at the first request, logged by name, never with the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface SecondsBounds {
  min: number;
  max: number;
  /** Used when the variable is not set at all (an empty string is an error). */
  default: number;
}

function rawVar(env: Env, name: string): unknown {
  return (env as unknown as Record<string, unknown>)[name];
}

/**
 * Plain decimal digits and nothing else: `Number()` would also take "1e3",
 * "0x10", " 300", "300.0", "+300" and "" (as 0), each a typo or a surprise.
 */
const DECIMAL_INTEGER = /^(?:0|[1-9][0-9]{0,14})$/;

/**
 * A lifetime in whole seconds within [min, max], or `default` when unset.
 * Out of range is an error, not clamped: a deployment asking for a day-long
 * token must learn that it does not get one.
 */
export function boundedSecondsVar(env: Env, name: string, bounds: SecondsBounds): number {
  const value = rawVar(env, name);
  if (value === undefined) return bounds.default;
  if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value)) {
    throw new ConfigError(`${name} must be a quoted whole number of seconds in plain decimal digits, such as "${bounds.default}"`);
  }
  const seconds = Number(value);
  if (seconds < bounds.min || seconds > bounds.max) {
    throw new ConfigError(`${name} must be ${bounds.min} to ${bounds.max} seconds`);
  }
  return seconds;
}

/**
 * A comma-separated list of exact web origins (RFC 6454 §6.2): each entry is
 * `scheme://host[:port]` as a browser sends it in `Origin`: http or https, no
 * path, query, fragment, userinfo or trailing slash, lower-case host, no
 * default port. `*` is refused: credentials are never offered to every site.
 * Unset or empty means none; blanks around commas are allowed.
 */
export function originListVar(env: Env, name: string): string[] {
  const value = rawVar(env, name);
  if (value === undefined) return [];
  if (typeof value !== 'string') throw new ConfigError(`${name} must be a string of comma-separated origins`);
  if (value.trim() === '') return [];
  return value.split(',').map((entry) => {
    const origin = entry.trim();
    if (origin === '*') throw new ConfigError(`${name} must list origins one by one; "*" is not allowed`);
    if (!isExactOrigin(origin)) {
      throw new ConfigError(`${name} must be comma-separated origins such as https://app.example.com (no path, no trailing slash)`);
    }
    return origin;
  });
}

function isExactOrigin(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
}

export interface TextBounds {
  maxChars: number;
}

/**
 * A required display name such as ISSUER: set, already NFKC and trimmed (not
 * silently fixed), 1 to `maxChars` code points, no control or invisible
 * character, and no ":" (Key URI Format: the label is `Issuer:account`).
 */
export function displayNameVar(env: Env, name: string, bounds: TextBounds): string {
  const value = rawVar(env, name);
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${name} must be set`);
  const ok =
    value.isWellFormed() &&
    value === value.normalize('NFKC').trim() &&
    [...value].length <= bounds.maxChars &&
    !value.includes(':') &&
    !hasInvisibleOrControl(value);
  if (!ok) {
    throw new ConfigError(
      `${name} must be 1 to ${bounds.maxChars} visible characters, NFKC, without surrounding blanks, control characters or ":"`,
    );
  }
  return value;
}

/** The D1 binding of shard `shard` (src/db/shards.ts): shard 0 is `DB`, then `DB_SHARD_1` ... */
export function shardBindingName(shard: number): string {
  return shard === 0 ? 'DB' : `DB_SHARD_${shard}`;
}

function isD1Binding(value: unknown): value is D1Database {
  if (typeof value !== 'object' || value === null) return false;
  const binding = value as Record<string, unknown>;
  return typeof binding.prepare === 'function' && typeof binding.batch === 'function';
}

/**
 * SHARD_COUNT: "1" to `max` in plain decimal digits, 1 when unset, and every
 * binding it asks for present (DB, DB_SHARD_1 ... DB_SHARD_{N-1}); a missing
 * one fails loudly by name, so a deployment never sends a user to a shard
 * that is not there.
 */
export function shardCountVar(env: Env, max: number): number {
  const value = rawVar(env, 'SHARD_COUNT');
  let count = 1;
  if (value !== undefined) {
    if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new ConfigError(`SHARD_COUNT must be a quoted whole number from 1 to ${max} in plain decimal digits, such as "4"`);
    }
    count = Number(value);
  }
  for (let shard = 0; shard < count; shard++) {
    const name = shardBindingName(shard);
    if (!isD1Binding(rawVar(env, name))) {
      throw new ConfigError(`SHARD_COUNT is ${count} but the D1 binding ${name} is missing: add a [[d1_databases]] entry with binding = "${name}" to wrangler.toml`);
    }
  }
  return count;
}

/** Hosts on which ISSUER_URL may be http (API.md, OpenID Provider): the machine itself. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * ISSUER_URL (API.md, OpenID Provider): unset or empty means no provider
 * (null). Else an absolute https URL (http only on a loopback host), written
 * exactly as a client will compare it byte for byte: no trailing slash,
 * query, fragment or userinfo, a lower-case host, no default port.
 */
export function issuerUrlVar(env: Env, name: string): string | null {
  const value = rawVar(env, name);
  if (value === undefined || value === '') return null;
  const problem = `${name} must be an https URL without a trailing slash, query or fragment, such as https://auth.example.com (http only for localhost, 127.0.0.1 or [::1])`;
  if (typeof value !== 'string') throw new ConfigError(problem);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(problem);
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname));
  const canonical = url.origin + (url.pathname === '/' ? '' : url.pathname);
  if (!secure || url.username || url.password || url.search || url.hash || value.endsWith('/') || canonical !== value) throw new ConfigError(problem);
  return value;
}

/** "true" or "false", exactly; `fallback` when unset. */
export function booleanVar(env: Env, name: string, fallback: boolean): boolean {
  const value = rawVar(env, name);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(`${name} must be "true" or "false"`);
}

const SCRYPT_PARAMS_TEXT = /^ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)$/;

function scryptParamsFrom(name: string, value: unknown): ScryptParams {
  const example = `ln=${PRODUCTION_PARAMS.logN},r=${PRODUCTION_PARAMS.r},p=${PRODUCTION_PARAMS.p}`;
  const match = typeof value === 'string' ? SCRYPT_PARAMS_TEXT.exec(value) : null;
  if (!match) throw new ConfigError(`${name} must be "ln=<log2 of N>,r=<r>,p=<p>" in plain decimal digits, such as "${example}"`);
  const params = { logN: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (!withinStoredBounds(params)) {
    throw new ConfigError(`${name} must ask for at most ${MAX_MEMORY_BYTES / 2 ** 20} MiB per hash (128 * r * 2^ln bytes), ln up to 20, r up to 32, p up to 16`);
  }
  return params;
}

/** scrypt's memory (128 * r * N bytes) and its work (N * r * p block mixes, in units of 128 * r-byte blocks). */
function scryptMemory(params: ScryptParams): number {
  return 2 ** params.logN * params.r;
}
function scryptWorkUnits(params: ScryptParams): number {
  return 2 ** params.logN * params.r * params.p;
}

/**
 * The password hash cost (src/crypto/password.ts), "ln=14,r=8,p=5" when unset.
 *
 * SCRYPT_PARAMS, the deployment's variable, has a floor: today's cost, OWASP's
 * listed equivalent of N = 2^17, r = 8, p = 1. A value may trade N for p the
 * way OWASP's table does (ln=15,r=8,p=3 is accepted) but may not have less
 * memory (N * r) or less work (N * r * p) than the floor: a typo such as
 * "ln=4" fails loudly instead of silently storing hashes a GPU cracks at
 * once. Nothing in wrangler.toml can go below it.
 *
 * TEST_ONLY_SCRYPT_PARAMS is for the test pool alone (vitest.config.ts binds
 * it; test/routes/password-cost.test.ts checks that wrangler.toml never does): when
 * set it replaces SCRYPT_PARAMS with no floor, only the bounds a stored hash
 * must keep, so the suite's thousands of logins cost microseconds each. The
 * tests of the password flows and one journey run with an env copy without it,
 * at production cost.
 */
export function scryptParamsVar(env: Env): ScryptParams {
  const testOnly = rawVar(env, 'TEST_ONLY_SCRYPT_PARAMS');
  if (testOnly !== undefined) return scryptParamsFrom('TEST_ONLY_SCRYPT_PARAMS', testOnly);
  const value = rawVar(env, 'SCRYPT_PARAMS');
  if (value === undefined) return PRODUCTION_PARAMS;
  const params = scryptParamsFrom('SCRYPT_PARAMS', value);
  if (scryptMemory(params) < scryptMemory(PRODUCTION_PARAMS) || scryptWorkUnits(params) < scryptWorkUnits(PRODUCTION_PARAMS)) {
    throw new ConfigError(
      `SCRYPT_PARAMS must cost at least ln=${PRODUCTION_PARAMS.logN},r=${PRODUCTION_PARAMS.r},p=${PRODUCTION_PARAMS.p}: no less memory (N * r) and no less work (N * r * p)`,
    );
  }
  return params;
}
