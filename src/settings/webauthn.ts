import { ISSUER_MAX_CHARS } from './tunables';
import { ConfigError, displayNameVar, originListVar } from './env-vars';
import { checkWebAuthnConfig } from '../webauthn';

/** The relying party, from configuration only: never from Origin, Host or X-Forwarded-* (WebAuthn L3 §13.4.9). */
export interface WebAuthnSettings {
  rpId: string;
  rpName: string;
  origins: string[];
}

/**
 * WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME (default the issuer) and WEBAUTHN_ORIGINS, checked
 * by checkWebAuthnConfig: every origin's host is the RP ID or below it, no IP address
 * (browsers refuse one). A mistake fails loudly, naming the variable.
 */
export function webauthnSettingsFromEnv(env: Env, issuer: string): WebAuthnSettings {
  const vars = env as unknown as Record<string, unknown>;
  const rpId = vars.WEBAUTHN_RP_ID;
  if (typeof rpId !== 'string') throw new ConfigError('WEBAUTHN_RP_ID must be set to the site’s domain (locally "localhost")');
  const rpName = 'WEBAUTHN_RP_NAME' in vars ? displayNameVar(env, 'WEBAUTHN_RP_NAME', { maxChars: ISSUER_MAX_CHARS }) : issuer;
  const origins = originListVar(env, 'WEBAUTHN_ORIGINS');
  const problem = checkWebAuthnConfig(rpId, origins);
  if (problem) throw new ConfigError(problem);
  if (isLocalhost(rpId) && !markedLocal(vars)) throw new ConfigError(LOCALHOST_OUTSIDE_DEVELOPMENT);
  return { rpId, rpName, origins };
}

/**
 * wrangler.toml's [vars] name localhost so that `npm run dev` works at once, and
 * `wrangler deploy` ships [vars] as they are: a deployed Worker would then offer
 * passkeys no browser on the real site can use, and nothing would say why. So a
 * localhost RP ID fails the first request, as a missing secret does, unless the
 * run is marked local: ENVIRONMENT = "development" (npm run dev, the browser
 * tests and the bench pass it; never put it in wrangler.toml's [vars]).
 */
const LOCALHOST_OUTSIDE_DEVELOPMENT =
  'WEBAUTHN_RP_ID is "localhost" (so WEBAUTHN_ORIGINS names localhost too): these are the settings of a local run, and no ' +
  'passkey works with them on a real site. Set WEBAUTHN_RP_ID to the site\'s domain and WEBAUTHN_ORIGINS to its https ' +
  'origins in wrangler.toml [vars] before deploying; a local run says it is one with ENVIRONMENT = "development" ' +
  '(npm run dev passes it)';

function isLocalhost(rpId: string): boolean {
  return rpId === 'localhost' || rpId.endsWith('.localhost');
}

/** ENVIRONMENT: "development" marks a local run; unset or "production" is a deployment; anything else is a typo. */
export function markedLocal(vars: Record<string, unknown>): boolean {
  const value = vars.ENVIRONMENT;
  if (value === undefined || value === 'production') return false;
  if (value === 'development') return true;
  throw new ConfigError('ENVIRONMENT must be "development" (a local run) or "production", or be unset (a deployment)');
}
