import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Db } from '../db/client';
import { signingKeysDb } from '../db/shards';
import { SIGNING_ALG } from './signing-key-crypto';
import { ACCESS_TOKEN_MAX_TTL_SECONDS } from './signing-key-schedule';
import { currentSigningKey, verificationKey, type SigningKeySettings } from './signing-keys';

/** RFC 9068 §2.1: the media type of a JWT access token, without the `application/` prefix. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Real tokens are under 1 KiB; anything far larger is refused before parsing. */
const MAX_TOKEN_CHARS = 4096;
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

/**
 * What the session's last proof was worth (OIDC Core §2 `acr`): `aal2`, a password and a
 * second factor; `phrh` / `phr` (the OpenID EAP ACR values: phishing-resistant, hardware-bound
 * or not), a passkey that verified its user, device-bound (not backup eligible, BE = 0) or
 * one that may be synced.
 */
export const ACR_VALUES = ['aal2', 'phr', 'phrh'] as const;
export type Acr = (typeof ACR_VALUES)[number];

/** The stored `sessions.acr` as a claim: null (every session before passwordless sign-in) is `aal2`. */
export function acrOf(stored: string | null | undefined): Acr {
  return (ACR_VALUES as readonly string[]).includes(stored ?? '') ? (stored as Acr) : 'aal2';
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
  acr: Acr;
  amr: string[];
  username: string;
  authorized: true;
}

export interface NewAccessToken {
  sub: string;
  username: string;
  sid: string;
  amr: string[];
  /** Default `aal2`. */
  acr?: Acr;
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
  // A shard's flow signs with the deployment's keys, which live on the primary (src/db/shards.ts).
  const signing = await currentSigningKey(signingKeysDb(db), settings, nowSeconds);
  const jti = claims.jti ?? crypto.randomUUID();
  const token = await new SignJWT({
    sid: claims.sid,
    auth_time: claims.authTimeSeconds,
    acr: claims.acr ?? 'aal2',
    amr: claims.amr,
    username: claims.username,
    authorized: true,
  })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: signing.kid })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(claims.sub)
    .setJti(jti)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(signing.key);
  return { token, expiresIn: exp - nowSeconds, exp, jti, kid: signing.kid };
}

/** The header's kid if the header is one we could have written (EdDSA, at+jwt, no key-bearing members), else null. */
function acceptableKid(token: string): string | null {
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== SIGNING_ALG || header.typ !== ACCESS_TOKEN_TYP) return null;
    if (KEY_BEARING_HEADERS.some((name) => name in header)) return null;
    return typeof header.kid === 'string' && header.kid.length > 0 && header.kid.length <= 64 ? header.kid : null;
  } catch {
    return null;
  }
}

/**
 * A token of ours, genuine in every respect (signature by one of our keys,
 * pinned algorithm and typ, issuer, audience, required claims) except its
 * age. Only "expired" may be said of it (RFC 6750 §3 error_description);
 * nothing in it is trusted.
 */
export interface ExpiredToken {
  expired: true;
  payload: JWTPayload;
}

/**
 * Returns the claims of a genuine, unexpired access token of ours, or null.
 * RFC 8725 §3.1 and RFC 9068 §4: the algorithm (EdDSA) and `typ` (at+jwt)
 * are pinned, issuer and audience checked, and the key is chosen only by
 * `kid` among our published, unrevoked keys. Whether the session is still
 * live is the caller's check.
 */
export async function verifyAccessToken(
  db: Db,
  settings: AccessTokenSettings,
  token: string,
  nowSeconds: number,
): Promise<AccessTokenClaims | null> {
  const checked = await checkAccessToken(db, settings, token, nowSeconds);
  return checked && !('expired' in checked) ? checked : null;
}

/**
 * verifyAccessToken, telling one more case apart: a genuine token whose time
 * is up. jose checks the signature, typ, iss, aud and the required claims
 * before it looks at exp or iat, so JWTExpired means everything else held.
 */
export async function checkAccessToken(
  db: Db,
  settings: AccessTokenSettings,
  token: string,
  nowSeconds: number,
): Promise<AccessTokenClaims | ExpiredToken | null> {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const kid = acceptableKid(token);
  if (!kid) return null;
  const key = await verificationKey(signingKeysDb(db), kid, nowSeconds);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      typ: ACCESS_TOKEN_TYP,
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid', 'auth_time'],
      currentDate: new Date(nowSeconds * 1000),
      maxTokenAge: ACCESS_TOKEN_MAX_TTL_SECONDS,
    });
    const { iss, aud, sub, sid, jti, iat, exp, auth_time, acr, amr, username, authorized } = payload;
    if (typeof iss !== 'string' || typeof aud !== 'string' || typeof sub !== 'string' || typeof sid !== 'string') return null;
    if (typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
    if (typeof auth_time !== 'number' || auth_time > iat || exp - iat > ACCESS_TOKEN_MAX_TTL_SECONDS) return null;
    if (!(ACR_VALUES as readonly unknown[]).includes(acr) || authorized !== true || typeof username !== 'string') return null;
    if (!Array.isArray(amr) || !amr.every((value) => typeof value === 'string')) return null;
    return { iss, aud, sub, sid, jti, iat, exp, auth_time, acr: acr as Acr, amr, username, authorized };
  } catch (error) {
    return error instanceof errors.JWTExpired ? { expired: true, payload: error.payload } : null;
  }
}
