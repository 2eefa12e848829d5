import {
  ACCESS_TOKEN_TTL_SECONDS_BOUNDS,
  ISSUER_MAX_CHARS,
  MFA_TOKEN_TTL_SECONDS_BOUNDS,
  SECRET_MIN_CHARS,
  SESSION_IDLE_SECONDS_BOUNDS,
  SESSION_MAX_SECONDS_BOUNDS,
} from './tunables';
import { deriveAesGcmKey, deriveHmacKey, importJwtKey } from '../crypto/keys';
import { shardCount } from '../db/shards';
import type { ScryptParams } from '../crypto/password';
import { booleanVar, boundedSecondsVar, ConfigError, displayNameVar, issuerUrlVar, originListVar, scryptParamsVar } from './env-vars';
import { deriveSigningKeyWrapKey } from '../tokens/signing-key-crypto';
import { markedLocal, webauthnSettingsFromEnv, type WebAuthnSettings } from './webauthn';

export { ConfigError } from './env-vars';

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
  /** The access token's `aud`: TOKEN_AUDIENCE, default the issuer. */
  audience: string;
  /** Absolute session end after `auth_time`, and the idle end after the last use. */
  sessionMaxSeconds: number;
  sessionIdleSeconds: number;
  /** AES-GCM key that seals the Ed25519 signing keys in D1. */
  signingKeyWrapKey: CryptoKey;
  /** HMAC-SHA-256 key that makes refresh tokens (nothing stored rebuilds one). */
  refreshKey: CryptoKey;
  /** AES-GCM key that seals the security log's cursors to their owner (features/self-service/security-log.ts). */
  cursorKey: CryptoKey;
  /** HMAC-SHA-256 key that makes passwordless sign-in challenges from their ids (nothing stored). */
  signinChallengeKey: CryptoKey;
  /** The support desk's bearer secret; null: the admin routes answer 404. */
  adminToken: string | null;
  /** WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS (passkeys). */
  webauthn: WebAuthnSettings;
  /** ISSUER_URL: the OpenID Provider's issuer; null turns the provider off (its routes answer 404). */
  issuerUrl: string | null;
  /** OIDC_SIGNUP: whether the provider's hosted pages offer sign-up (default true). */
  oidcSignup: boolean;
  /** HMAC-SHA-256 key of the provider: its cookies, CSRF tokens, request tickets and refresh tokens. */
  oidcKey: CryptoKey;
  /** SCRYPT_PARAMS: the cost of new password hashes, of the unknown-user dummy, and what a re-hash upgrades to. */
  passwordHashCost: ScryptParams;
  /** ENVIRONMENT = "development": a local run (npm run dev, the browser tests); e.g. a back-channel logout URI may then be http://localhost. */
  development: boolean;
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

async function load(env: Env): Promise<Settings> {
  const jwtSecret = requireSecret(env, 'JWT_SECRET');
  const encryptionSecret = requireSecret(env, 'TOTP_ENCRYPTION_KEY');
  const adminToken = optionalAdminToken(env);
  // Key URI Format: neither the issuer nor the account name may contain a colon.
  const issuer = displayNameVar(env, 'ISSUER', { maxChars: ISSUER_MAX_CHARS });
  const accessTokenTtlSeconds = boundedSecondsVar(env, 'ACCESS_TOKEN_TTL_SECONDS', ACCESS_TOKEN_TTL_SECONDS_BOUNDS);
  const mfaTokenTtlSeconds = boundedSecondsVar(env, 'MFA_TOKEN_TTL_SECONDS', MFA_TOKEN_TTL_SECONDS_BOUNDS);
  const corsOrigins = originListVar(env, 'CORS_ORIGINS');
  // TOKEN_AUDIENCE is optional (commented out in wrangler.toml): unset means the issuer.
  const audience = !('TOKEN_AUDIENCE' in env) ? issuer : displayNameVar(env, 'TOKEN_AUDIENCE', { maxChars: ISSUER_MAX_CHARS });
  const sessionMaxSeconds = boundedSecondsVar(env, 'SESSION_MAX_SECONDS', SESSION_MAX_SECONDS_BOUNDS);
  const sessionIdleSeconds = boundedSecondsVar(env, 'SESSION_IDLE_SECONDS', SESSION_IDLE_SECONDS_BOUNDS);
  if (sessionIdleSeconds > sessionMaxSeconds) throw new ConfigError('SESSION_IDLE_SECONDS must not exceed SESSION_MAX_SECONDS');
  const webauthn = webauthnSettingsFromEnv(env, issuer);
  const issuerUrl = issuerUrlVar(env, 'ISSUER_URL');
  const oidcSignup = booleanVar(env, 'OIDC_SIGNUP', true);
  const passwordHashCost = scryptParamsVar(env);
  const development = markedLocal(env as unknown as Record<string, unknown>);
  // SHARD_COUNT and every D1 binding it names, checked here so a missing one fails the first request.
  shardCount(env);
  const [jwtKey, totpKey, recoveryKey, signingKeyWrapKey, refreshKey, oidcKey, cursorKey, signinChallengeKey] = await Promise.all([
    importJwtKey(jwtSecret),
    deriveAesGcmKey(encryptionSecret, 'edge-mfa totp secret v1'),
    deriveHmacKey(encryptionSecret, 'edge-mfa recovery code v1'),
    deriveSigningKeyWrapKey(encryptionSecret),
    deriveHmacKey(jwtSecret, 'edge-mfa refresh token v1'),
    deriveHmacKey(jwtSecret, 'edge-mfa openid provider v1'),
    deriveAesGcmKey(encryptionSecret, 'edge-mfa log cursor v1'),
    deriveHmacKey(jwtSecret, 'edge-mfa passkey sign-in challenge v1'),
  ]);
  return {
    issuer,
    accessTokenTtlSeconds,
    mfaTokenTtlSeconds,
    corsOrigins,
    jwtKey,
    totpKey,
    recoveryKey,
    audience,
    sessionMaxSeconds,
    sessionIdleSeconds,
    signingKeyWrapKey,
    refreshKey,
    cursorKey,
    signinChallengeKey,
    adminToken,
    webauthn,
    issuerUrl,
    oidcSignup,
    oidcKey,
    passwordHashCost,
    development,
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
