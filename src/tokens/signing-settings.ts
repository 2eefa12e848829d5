import { getSettings } from '../settings';
import { deriveSigningKeyWrapKey } from './signing-key-crypto';
import type { SigningKeySettings } from './signing-keys';

// Derived once per isolate (the env object is stable for its life), like getSettings.
const cache = new WeakMap<Env, Promise<SigningKeySettings>>();

/**
 * The signing-key settings for code that runs outside a request (the cron).
 * getSettings validates the secrets first, so a missing or short
 * TOTP_ENCRYPTION_KEY fails here loudly, by name. Once Settings carries
 * `signingKeyWrapKey` itself, callers can pass Settings instead.
 */
export function getSigningKeySettings(env: Env): Promise<SigningKeySettings> {
  let settings = cache.get(env);
  if (!settings) {
    settings = getSettings(env).then(async () => ({
      signingKeyWrapKey: await deriveSigningKeyWrapKey(env.TOTP_ENCRYPTION_KEY),
    }));
    settings.catch(() => cache.delete(env));
    cache.set(env, settings);
  }
  return settings;
}
