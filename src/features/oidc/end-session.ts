import { decodeProtectedHeader, importJWK, jwtVerify, decodeJwt } from 'jose';
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';
import type { Db } from '../../db/client';
import { signingKeysDb } from '../../db/shards';
import { recordEvent } from '../../core/events';
import { revokeSession, type ClientInfo } from '../../core/sessions/store';
import type { Settings } from '../../settings';
import { rsaJwksOf, RSA_ALG } from '../../tokens/rsa-signing-keys';
import { SIGNING_ALG } from '../../tokens/signing-key-crypto';
import { publishedRowMatching, verificationKey } from '../../tokens/signing-keys';
import { STATE_MAX_CHARS, TICKET_TTL_SECONDS } from './config';
import { tagMatches, tagOf } from './hmac';
import type { OidcClientRow } from './tables';

/**
 * RP-Initiated Logout 1.0 (API.md, `/end-session`): the hint, the return
 * address, and the signed request the confirmation form carries.
 */

export interface HintClaims {
  sub: string;
  /** The client (`aud`). */
  clientId: string;
  /** The provider session it was issued from. */
  sid: string | null;
}

/**
 * The hint's claims, read WITHOUT checking its signature: only to name a
 * client (as `client_id` may) for a browser with no provider session to end,
 * so an anonymous request never costs a signing-key read. Null: not a JWT.
 */
export function unverifiedHint(token: string): HintClaims | null {
  if (token.length > 8192) return null;
  try {
    const payload = decodeJwt(token);
    const aud = Array.isArray(payload.aud) ? (payload.aud.length === 1 ? payload.aud[0] : undefined) : payload.aud;
    if (typeof payload.sub !== 'string' || typeof aud !== 'string') return null;
    return { sub: payload.sub, clientId: aud, sid: typeof payload.sid === 'string' ? payload.sid : null };
  } catch {
    return null;
  }
}

/**
 * An ID token we signed (RS256 or EdDSA, a published kid, our `iss`), whose
 * `aud` is one client. Expired is fine (RP-Initiated Logout §2: the hint may
 * have expired): the signature and claims are checked as of its own `iat`.
 * Only `typ: JWT`, as tokens.ts signs ID tokens: our access tokens (`at+jwt`)
 * and logout tokens (`logout+jwt`) carry the same `iss`, `sub` and `sid` under
 * the same keys and travel where ID tokens do not (resource servers,
 * back-channel receivers and their logs); neither is an ID token, so neither
 * is a hint, here or at /authorize.
 */
export async function verifyIdTokenHint(db: Db, settings: Settings, token: string, now: number): Promise<HintClaims | null> {
  if (token.length > 8192) return null;
  let header;
  let payload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    return null;
  }
  if (header.typ !== 'JWT') return null;
  if (typeof header.kid !== 'string' || header.kid.length > 100 || 'jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header) return null;
  if (typeof payload.iat !== 'number' || payload.iat > now + 60) return null;
  let key: CryptoKey | Uint8Array | null = null;
  if (header.alg === SIGNING_ALG) key = await verificationKey(signingKeysDb(db), header.kid, now);
  else if (header.alg === RSA_ALG) {
    const kid = header.kid;
    const row = await publishedRowMatching(signingKeysDb(db), now, (candidate) => candidate.rsaKid === kid);
    const jwk = row ? rsaJwksOf([row])[0] : undefined;
    key = jwk ? ((await importJWK(jwk, RSA_ALG)) as CryptoKey) : null;
  }
  if (!key) return null;
  try {
    const { payload: verified } = await jwtVerify(token, key, {
      algorithms: [header.alg === SIGNING_ALG ? SIGNING_ALG : RSA_ALG],
      issuer: settings.issuerUrl!,
      requiredClaims: ['sub', 'aud', 'iat'],
      currentDate: new Date(payload.iat * 1000),
    });
    const aud = Array.isArray(verified.aud) ? (verified.aud.length === 1 ? verified.aud[0] : undefined) : verified.aud;
    if (typeof verified.sub !== 'string' || typeof aud !== 'string') return null;
    return { sub: verified.sub, clientId: aud, sid: typeof verified.sid === 'string' ? verified.sid : null };
  } catch {
    return null;
  }
}

export function postLogoutUriRegistered(client: OidcClientRow, uri: string): boolean {
  return (JSON.parse(client.postLogoutRedirectUris) as string[]).includes(uri);
}

export function returnAddress(uri: string, state: string | null): string {
  const url = new URL(uri);
  if (state !== null) url.searchParams.set('state', state.slice(0, STATE_MAX_CHARS));
  return url.href;
}

/** What the confirmation form carries, signed: where to go after, and the state to echo. */
export interface LogoutRequest {
  uri: string | null;
  state: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function makeLogoutTicket(key: CryptoKey, request: LogoutRequest, now: number): Promise<string> {
  const body = encodeBase64urlNoPadding(encoder.encode(JSON.stringify({ ...request, exp: now + TICKET_TTL_SECONDS })));
  return `${body}.${await tagOf(key, 'logout', body)}`;
}

export async function readLogoutTicket(key: CryptoKey, ticket: string | null | undefined, now: number): Promise<LogoutRequest | null> {
  if (!ticket || ticket.length > 8192) return null;
  const [body, tag, ...rest] = ticket.split('.');
  if (!body || !tag || rest.length > 0 || !(await tagMatches(key, tag, 'logout', body))) return null;
  try {
    const parsed = JSON.parse(decoder.decode(decodeBase64urlIgnorePadding(body))) as LogoutRequest & { exp: number };
    return typeof parsed.exp === 'number' && parsed.exp > now ? { uri: parsed.uri, state: parsed.state } : null;
  } catch {
    return null;
  }
}

/** Ends the provider session (and with it every client session hanging off it: src/features/oidc/grants.ts), with a security event. */
export async function endProviderSession(db: Db, sessionId: string, userId: string, now: number, client: ClientInfo): Promise<void> {
  await db.batch([
    revokeSession(db, sessionId, now),
    recordEvent(db, 'session_ended', { userId, sessionId, client, reason: 'end-session' }, now),
  ]);
}
