import type { Db } from '../db/client';
import { decodeJsonSegment, parseCompactJws, signEd25519, verifyEd25519, type JsonObject, type ParsedJws } from './compact-jws';
import { SIGNING_ALG } from './signing-key-crypto';
import { ACCESS_TOKEN_MAX_TTL_SECONDS } from './signing-key-schedule';
import { currentSigningKey, verificationKey, type SigningKeySettings } from './signing-keys';

/** RFC 9068 §2.1: the media type of a JWT access token, without the `application/` prefix. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Real tokens are under 1 KiB; anything far larger is refused before parsing. */
export const MAX_TOKEN_CHARS = 4096;
/** Our kids are RFC 7638 thumbprints (43 characters); anything far longer is not one of ours. */
const MAX_KID_CHARS = 64;
/**
 * Header members that name or carry a key (RFC 7515 §4.1). We never set them
 * and never follow them: the key comes from our own table by `kid` alone.
 * A token that carries one is refused outright, as a sign of forgery.
 */
const KEY_BEARING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;

export interface AccessTokenSettings extends SigningKeySettings {
  issuer: string;
  /** TOKEN_AUDIENCE, default the issuer. */
  audience: string;
  accessTokenTtlSeconds: number;
}

/** API.md "Tokens and sessions" (v2); RFC 9068 §2.2 with auth_time and acr of OIDC Core §2. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  auth_time: number;
  acr: 'aal2';
  amr: string[];
  username: string;
  authorized: true;
}

export interface NewAccessToken {
  sub: string;
  username: string;
  sid: string;
  amr: string[];
  /** When a second factor was last proven in this session. */
  authTimeSeconds: number;
  /** The session's end (absolute or idle, whichever is sooner): exp never passes it. */
  sessionEndsAtSeconds: number;
  /** Given when the same token must be signed again byte for byte (the refresh grace); else random. */
  jti?: string;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  exp: number;
  jti: string;
  kid: string;
}

/** Signs with the current Ed25519 key; exp = min(now + ttl, session end). */
export async function signAccessToken(
  db: Db,
  settings: AccessTokenSettings,
  claims: NewAccessToken,
  nowSeconds: number,
): Promise<IssuedAccessToken> {
  const exp = Math.min(nowSeconds + settings.accessTokenTtlSeconds, claims.sessionEndsAtSeconds);
  if (exp <= nowSeconds) throw new Error('session already ended: no access token');
  const signing = await currentSigningKey(db, settings, nowSeconds);
  const jti = claims.jti ?? crypto.randomUUID();
  // The members in the order jose's SignJWT writes them (its payload, then iss, aud, sub, jti, iat, exp),
  // so a token is byte for byte what jose would sign (test/tokens/compact-jws.test.ts).
  const payload = {
    sid: claims.sid,
    auth_time: claims.authTimeSeconds,
    acr: 'aal2',
    amr: claims.amr,
    username: claims.username,
    authorized: true,
    iss: settings.issuer,
    aud: settings.audience,
    sub: claims.sub,
    jti,
    iat: nowSeconds,
    exp,
  };
  const token = await signEd25519(signing.key, { alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: signing.kid }, payload);
  return { token, expiresIn: exp - nowSeconds, exp, jti, kid: signing.kid };
}

/**
 * The header's kid if the header is one we could have written, else null:
 * alg EdDSA and typ at+jwt exactly (RFC 8725 §3.1, §3.11; RFC 9068 §4), no
 * member that names or carries a key, and no `crit` or `b64` (RFC 7515 §4.1.11,
 * RFC 7797): we never set them, so a token that has one is not ours.
 */
function acceptableKid(header: JsonObject): string | null {
  if (header.alg !== SIGNING_ALG || header.typ !== ACCESS_TOKEN_TYP) return null;
  if ('crit' in header || 'b64' in header || KEY_BEARING_HEADERS.some((name) => name in header)) return null;
  const { kid } = header;
  return typeof kid === 'string' && kid.length > 0 && kid.length <= MAX_KID_CHARS ? kid : null;
}

const isTime = (value: unknown): value is number => Number.isSafeInteger(value);

/**
 * The claims of RFC 9068 §2.2 and API.md, checked as RFC 9068 §4 asks: iss and
 * aud exactly ours, exp in the future and nbf (if any) reached (RFC 7519
 * §4.1.4-4.1.5), iat not in the future and the token no older or longer-lived
 * than ACCESS_TOKEN_MAX_TTL_SECONDS, auth_time at or before iat.
 */
function accessClaimsOf(payload: JsonObject, settings: AccessTokenSettings, now: number): AccessTokenClaims | null {
  const { iss, aud, sub, sid, jti, iat, exp, nbf, auth_time, acr, amr, username, authorized } = payload;
  if (iss !== settings.issuer || aud !== settings.audience || typeof iss !== 'string' || typeof aud !== 'string') return null;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof username !== 'string') return null;
  if (!isTime(iat) || !isTime(exp) || !isTime(auth_time)) return null;
  if (exp <= now || iat > now || now - iat > ACCESS_TOKEN_MAX_TTL_SECONDS || exp - iat > ACCESS_TOKEN_MAX_TTL_SECONDS) return null;
  if (nbf !== undefined && (!isTime(nbf) || nbf > now)) return null;
  if (auth_time > iat || acr !== 'aal2' || authorized !== true) return null;
  if (!Array.isArray(amr) || !amr.every((value) => typeof value === 'string')) return null;
  return { iss, aud, sub, sid, jti, iat, exp, auth_time, acr, amr, username, authorized };
}

/**
 * Returns the claims of a genuine, unexpired access token of ours, or null.
 * RFC 8725 §3.1 and RFC 9068 §4: the algorithm (EdDSA) and `typ` (at+jwt)
 * are pinned, issuer and audience checked, and the key is chosen only by
 * `kid` among our published, unrevoked keys. The signature is checked before
 * any claim is read. Whether the session is still live is the caller's check.
 */
export function verifyAccessToken(db: Db, settings: AccessTokenSettings, token: string, nowSeconds: number): Promise<AccessTokenClaims | null> {
  const jws = token.length > MAX_TOKEN_CHARS ? null : parseCompactJws(token);
  return jws ? verifyAccessJws(db, settings, jws, nowSeconds) : Promise.resolve(null);
}

/** verifyAccessToken for a token already split by parseCompactJws (verifyAnyToken parses once for both). */
export async function verifyAccessJws(db: Db, settings: AccessTokenSettings, jws: ParsedJws, nowSeconds: number): Promise<AccessTokenClaims | null> {
  const kid = acceptableKid(jws.header);
  if (!kid) return null;
  const key = await verificationKey(db, kid, nowSeconds);
  if (!key || !(await verifyEd25519(key, jws))) return null;
  const payload = decodeJsonSegment(jws.payloadSegment);
  return payload && accessClaimsOf(payload, settings, nowSeconds);
}
