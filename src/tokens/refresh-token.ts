import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';

/**
 * Refresh tokens: `rt1.<session id>.<generation>.<tag>`, the tag an
 * HMAC-SHA-256 under a server key over the session id and generation. Nothing
 * stored rebuilds one (the key never leaves the Worker), a rotation is a
 * compare-and-swap on the stored generation, and the token for a given
 * generation is always the same bytes, which is what lets the 30 s grace
 * answer a retried refresh with the identical pair.
 */
const PREFIX = 'rt1';
const MAX_TOKEN_CHARS = 200;
const SESSION_ID = /^[0-9a-f-]{36}$/;
const GENERATION = /^(?:0|[1-9][0-9]{0,8})$/;

const encoder = new TextEncoder();
const message = (sessionId: string, generation: number, purpose: string) => encoder.encode(`${purpose}.${sessionId}.${generation}`);

export interface RefreshTokenClaims {
  sessionId: string;
  generation: number;
}

export async function makeRefreshToken(key: CryptoKey, sessionId: string, generation: number): Promise<string> {
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', key, message(sessionId, generation, PREFIX)));
  return `${PREFIX}.${sessionId}.${generation}.${encodeBase64urlNoPadding(tag)}`;
}

/** The session and generation a genuine refresh token names, or null (checked in constant time by WebCrypto). */
export async function readRefreshToken(key: CryptoKey, token: string): Promise<RefreshTokenClaims | null> {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const [prefix, sessionId, generationText, tagText, ...rest] = token.split('.');
  if (prefix !== PREFIX || rest.length > 0 || !sessionId || !generationText || !tagText) return null;
  if (!SESSION_ID.test(sessionId) || !GENERATION.test(generationText)) return null;
  if (!/^[A-Za-z0-9_-]{43}$/.test(tagText)) return null;
  const tag = decodedTag(tagText);
  if (tag === null) return null;
  const generation = Number(generationText);
  const genuine = await crypto.subtle.verify('HMAC', key, tag, message(sessionId, generation, PREFIX));
  return genuine ? { sessionId, generation } : null;
}

/**
 * The session id a refresh token names, by its shape alone (not verified):
 * enough to pick the session's shard (src/db/shards.ts) before the tag is
 * checked there; null when it is not shaped like one of ours.
 */
export function sessionIdOfRefreshToken(token: string): string | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const [prefix, sessionId] = token.split('.', 2);
  return prefix === PREFIX && sessionId !== undefined && SESSION_ID.test(sessionId) ? sessionId : null;
}

/** The access token of one session generation has this `jti`, so signing it again gives the same bytes. */
export async function accessTokenId(key: CryptoKey, sessionId: string, generation: number): Promise<string> {
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', key, message(sessionId, generation, 'jti')));
  return encodeBase64urlNoPadding(tag.subarray(0, 16));
}

/**
 * A 43-character tag's 32 bytes, or null: decodeBase64urlIgnorePadding throws when the
 * last character carries bits past them ('x'), which a forger may send (never a 500).
 */
function decodedTag(text: string): Uint8Array | null {
  try {
    return decodeBase64urlIgnorePadding(text);
  } catch {
    return null;
  }
}
