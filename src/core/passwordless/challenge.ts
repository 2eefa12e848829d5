/**
 * The challenge of a passwordless sign-in (POST /webauthn/signin/options) names no user
 * and no session, so it has no shard to live on. It is stateless: the id is 16 random
 * bytes and its expiry (4 bytes, big-endian Unix seconds), and the challenge sent to the
 * browser is HMAC-SHA-256 over a purpose label and the id, under a key derived from
 * JWT_SECRET. Nothing is stored when options are asked for, so a flood of them writes
 * nothing. A changed expiry changes the challenge, so an id cannot be stretched; the
 * label keeps these challenges apart from the second-factor ones (random rows bound to
 * a session and purpose in webauthn_challenges), and vice versa: an id of one kind is
 * unknown to the other ceremony. Single use is the verify's: it inserts the id into
 * webauthn_signin_spent on the primary before looking at the assertion.
 */
import { base64url, decodeBase64urlBounded } from '../../webauthn/bytes';
import { WEBAUTHN_CHALLENGE_TTL_SECONDS } from '../../settings/tunables';

const NONCE_BYTES = 16;
const ID_BYTES = NONCE_BYTES + 4;
const LABEL = new TextEncoder().encode('edge-mfa webauthn.signin challenge\0');

export interface SigninChallenge {
  challengeId: string;
  challenge: Uint8Array;
  expiresAt: number;
}

async function challengeOf(key: CryptoKey, id: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array(LABEL.length + id.length);
  message.set(LABEL);
  message.set(id, LABEL.length);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
}

export async function issueSigninChallenge(key: CryptoKey, now: number): Promise<SigninChallenge> {
  const id = new Uint8Array(ID_BYTES);
  crypto.getRandomValues(id.subarray(0, NONCE_BYTES));
  const expiresAt = now + WEBAUTHN_CHALLENGE_TTL_SECONDS;
  new DataView(id.buffer).setUint32(NONCE_BYTES, expiresAt);
  return { challengeId: base64url(id), challenge: await challengeOf(key, id), expiresAt };
}

/**
 * The challenge an id stands for, with `live` false when the id is not one of ours in
 * shape or spelling, or its expiry has passed (or lies further ahead than any we issue). The
 * challenge is computed either way, so every verify does the same work.
 */
export async function readSigninChallenge(key: CryptoKey, challengeId: string, now: number): Promise<SigninChallenge & { live: boolean }> {
  const decoded = decodeBase64urlBounded(challengeId, ID_BYTES);
  const id = decoded !== null && decoded.length === ID_BYTES ? decoded : new Uint8Array(ID_BYTES);
  const expiresAt = new DataView(id.buffer, id.byteOffset, id.byteLength).getUint32(NONCE_BYTES);
  // Only the spelling we issued: base64url decoding also accepts `X=` for `X`, and
  // the spent table is keyed by the id's text, so a second spelling of one id would
  // be a second, unspent row (a captured assertion replayed once more).
  const canonical = base64url(id);
  const live = decoded !== null && decoded.length === ID_BYTES && challengeId === canonical && expiresAt > now && expiresAt <= now + WEBAUTHN_CHALLENGE_TTL_SECONDS;
  return { challengeId: canonical, challenge: await challengeOf(key, id), expiresAt, live };
}
