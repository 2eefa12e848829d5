import { MFA_TOKEN_MAX_TTL_SECONDS, SECRET_MIN_CHARS } from './config';
import { deriveAesGcmKey, deriveHmacKey, importJwtKey } from './crypto/keys';

/** Configuration read from the Worker's env, validated, with its keys imported once per isolate. */
export interface Settings {
  issuer: string;
  accessTokenTtlSeconds: number;
  mfaTokenTtlSeconds: number;
  corsOrigins: string[];
  /** HS256 key for tokens. */
  jwtKey: CryptoKey;
  /** AES-GCM key for TOTP secrets at rest. */
  totpKey: CryptoKey;
  /** HMAC-SHA-256 key for recovery-code hashes. */
  recoveryKey: CryptoKey;
  /** The support desk's bearer secret; null: the admin routes answer 404. */
  adminToken: string | null;
}

/** A deployment mistake: thrown at the first request, logged by name, never with the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function requireSecret(env: Env, name: 'JWT_SECRET' | 'TOTP_ENCRYPTION_KEY'): string {
  const value = env[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`${name} is not set: run \`wrangler secret put ${name}\` (locally, add it to .dev.vars)`);
  }
  if (value.length < SECRET_MIN_CHARS) {
    throw new ConfigError(`${name} is too short: it needs at least ${SECRET_MIN_CHARS} characters`);
  }
  return value;
}

/** Optional: absent or empty turns the admin API off; present, it must be as long as the other secrets. */
function optionalAdminToken(env: Env): string | null {
  const value = env.ADMIN_TOKEN;
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || value.length < SECRET_MIN_CHARS) {
    throw new ConfigError(`ADMIN_TOKEN is too short: it needs at least ${SECRET_MIN_CHARS} characters (or leave it unset to turn the admin API off)`);
  }
  return value;
}

function positiveSeconds(env: Env, name: 'ACCESS_TOKEN_TTL_SECONDS' | 'MFA_TOKEN_TTL_SECONDS'): number {
  const value = Number(env[name]);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive whole number of seconds`);
  return value;
}

async function load(env: Env): Promise<Settings> {
  const jwtSecret = requireSecret(env, 'JWT_SECRET');
  const encryptionSecret = requireSecret(env, 'TOTP_ENCRYPTION_KEY');
  const adminToken = optionalAdminToken(env);
  const issuer = (env.ISSUER ?? '').trim();
  // Key URI Format: neither the issuer nor the account name may contain a colon.
  if (!issuer || issuer.includes(':')) throw new ConfigError('ISSUER must be set and must not contain ":"');
  const [jwtKey, totpKey, recoveryKey] = await Promise.all([
    importJwtKey(jwtSecret),
    deriveAesGcmKey(encryptionSecret, 'edge-mfa totp secret v1'),
    deriveHmacKey(encryptionSecret, 'edge-mfa recovery code v1'),
  ]);
  return {
    issuer,
    accessTokenTtlSeconds: positiveSeconds(env, 'ACCESS_TOKEN_TTL_SECONDS'),
    mfaTokenTtlSeconds: Math.min(positiveSeconds(env, 'MFA_TOKEN_TTL_SECONDS'), MFA_TOKEN_MAX_TTL_SECONDS),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    jwtKey,
    totpKey,
    recoveryKey,
    adminToken,
  };
}

// The env object is stable for an isolate's life, so keys are imported once, not per request.
const cache = new WeakMap<Env, Promise<Settings>>();

export function getSettings(env: Env): Promise<Settings> {
  let settings = cache.get(env);
  if (!settings) {
    settings = load(env);
    // A failed load is not cached: fixing the secret should not need a new isolate.
    settings.catch(() => cache.delete(env));
    cache.set(env, settings);
  }
  return settings;
}
