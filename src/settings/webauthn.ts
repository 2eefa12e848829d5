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
  return { rpId, rpName, origins };
}
