/**
 * CollectedClientData (WebAuthn L3 §5.8.1). Parsed here rather than with oslo's
 * parseClientDataJSON because that one drops `topOrigin`, which L3 asks us to check.
 */
import { timingSafeEqual } from '../crypto/compare';
import { decodeBase64urlBounded } from './bytes';
import { MAX_CHALLENGE_BYTES } from './limits';
import { refuse, type Refused } from './result';

export type ClientData = {
  type: string;
  challenge: Uint8Array;
  origin: string;
  crossOrigin: boolean;
  topOrigin: string | null;
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Null unless it is UTF-8 JSON of an object with the members of §5.8.1 well typed. */
export function parseClientData(bytes: Uint8Array): ClientData | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes)); // L3 §7.1 steps 5-6, §7.2 steps 9-10
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const data = parsed as Record<string, unknown>;
  const challenge = decodeBase64urlBounded(data.challenge, MAX_CHALLENGE_BYTES);
  if (typeof data.type !== 'string' || challenge === null || typeof data.origin !== 'string') return null;
  if (data.crossOrigin !== undefined && typeof data.crossOrigin !== 'boolean') return null;
  if (data.topOrigin !== undefined && typeof data.topOrigin !== 'string') return null;
  return {
    type: data.type,
    challenge,
    origin: data.origin,
    crossOrigin: data.crossOrigin === true,
    topOrigin: typeof data.topOrigin === 'string' ? data.topOrigin : null,
  };
}

export type ClientDataExpectation = {
  type: 'webauthn.create' | 'webauthn.get';
  challenge: Uint8Array;
  /** The configured origins (WEBAUTHN_ORIGINS), never a request header. */
  origins: readonly string[];
  /** Origins we agree to be framed in; none by default. */
  topOrigins?: readonly string[];
};

/**
 * L3 §7.1 steps 7-11 (registration) and §7.2 steps 11-15 (assertion). Null when all hold.
 */
export function checkClientData(data: ClientData, expected: ClientDataExpectation): Refused | null {
  // §7.1 step 7 / §7.2 step 11: the ceremony type, so a get() cannot stand in for a create().
  if (data.type !== expected.type) return refuse('type');
  // §7.1 step 8 / §7.2 step 12: the challenge we issued, compared in constant time.
  if (!timingSafeEqual(data.challenge, expected.challenge)) return refuse('challenge');
  // §7.1 step 9 / §7.2 step 13, §13.4.9: an exact match against the configured origins.
  if (!expected.origins.includes(data.origin)) return refuse('origin');
  // §7.1 step 10 / §7.2 step 14: we never expect to run in a cross-origin iframe.
  if (data.crossOrigin) return refuse('cross_origin');
  // §7.1 step 11 / §7.2 step 15: a top-level origin only when we allow being framed by it.
  if (data.topOrigin !== null && !(expected.topOrigins ?? []).includes(data.topOrigin)) return refuse('top_origin');
  return null;
}
