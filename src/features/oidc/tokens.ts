import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../../db/client';
import type { SessionRow, UserRow } from '../../db/schema';
import { signingKeysDb } from '../../db/shards';
import type { Settings } from '../../settings';
import { ACCESS_TOKEN_TYP } from '../../tokens/access-token';
import { accessTokenId, makeRefreshToken } from '../../tokens/refresh-token';
import { currentRsaSigningKey, RSA_ALG } from '../../tokens/rsa-signing-keys';
import { SIGNING_ALG } from '../../tokens/signing-key-crypto';
import { ACCESS_TOKEN_MAX_TTL_SECONDS } from '../../tokens/signing-key-schedule';
import { currentSigningKey, verificationKey } from '../../tokens/signing-keys';
import { ID_TOKEN_TTL_SECONDS } from './config';
import type { OidcClientRow, OidcGrantRow } from './tables';

/**
 * What /token hands a client. Every token is a function of the stored rows
 * (iat is the client session's rotation time, the jti an HMAC of its
 * generation, RS256 and Ed25519 signatures are deterministic), so the 30 s
 * refresh grace hands a retried request the very same tokens.
 */
export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  id_token: string;
  refresh_token?: string;
  scope: string;
}

type ClientSession = Pick<SessionRow, 'id' | 'authTime' | 'amr' | 'expiresAt' | 'generation' | 'rotatedAt'>;

export async function issueTokens(
  db: Db,
  settings: Settings,
  input: { client: OidcClientRow; user: Pick<UserRow, 'id' | 'username'>; session: ClientSession; grant: Pick<OidcGrantRow, 'providerSessionId' | 'scope' | 'acr' | 'offline'>; nonce: string | null; scope?: string },
  now: number,
): Promise<TokenSet> {
  const { client, user, session, grant } = input;
  const issuer = settings.issuerUrl!;
  const iat = session.rotatedAt!;
  const scope = input.scope ?? grant.scope;
  const amr = session.amr.split(' ');
  const keys = signingKeysDb(db);
  // Never past the session's absolute end, nor its idle end as of issue.
  const sessionEnd = Math.min(session.expiresAt, iat + settings.sessionIdleSeconds);
  const accessExp = Math.min(iat + settings.accessTokenTtlSeconds, sessionEnd);
  const ed = await currentSigningKey(keys, settings, now);
  const [jti, refreshToken] = await Promise.all([
    accessTokenId(settings.oidcKey, session.id, session.generation),
    grant.offline ? makeRefreshToken(settings.oidcKey, session.id, session.generation) : Promise.resolve(undefined),
  ]);
  const access = await new SignJWT({ client_id: client.id, scope, sid: session.id, auth_time: session.authTime, acr: grant.acr, amr })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: ed.kid })
    .setIssuer(issuer)
    .setAudience(settings.audience)
    .setSubject(user.id)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(accessExp)
    .sign(ed.key);
  const idClaims: Record<string, unknown> = { azp: client.id, auth_time: session.authTime, acr: grant.acr, amr, sid: grant.providerSessionId };
  if (input.nonce !== null) idClaims.nonce = input.nonce;
  if (scope.split(' ').includes('profile')) idClaims.preferred_username = user.username;
  const signer = client.idTokenAlg === 'EdDSA' ? { alg: SIGNING_ALG, kid: ed.kid, key: ed.key } : { alg: RSA_ALG, ...(await currentRsaSigningKey(keys, settings, now)) };
  const idToken = await new SignJWT(idClaims)
    .setProtectedHeader({ alg: signer.alg, typ: 'JWT', kid: signer.kid })
    .setIssuer(issuer)
    .setAudience(client.id)
    .setSubject(user.id)
    .setIssuedAt(iat)
    .setExpirationTime(Math.min(iat + ID_TOKEN_TTL_SECONDS, session.expiresAt))
    .sign(signer.key);
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: Math.max(1, accessExp - now),
    id_token: idToken,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    scope,
  };
}

export interface ProviderAccessClaims {
  sub: string;
  /** The client session. */
  sid: string;
  clientId: string;
  scope: string;
}

/**
 * An access token this provider issued, by its signature alone: EdDSA and
 * `at+jwt` pinned (RFC 9068 §4), `iss` the ISSUER_URL (so the JSON API's own
 * tokens, whose `iss` is ISSUER, never pass here, nor these there), `aud`,
 * `exp`. Whether its session is live is the caller's check.
 */
export async function verifyProviderAccessToken(db: Db, settings: Settings, token: string, now: number): Promise<ProviderAccessClaims | null> {
  if (token.length > 4096) return null;
  let kid: unknown;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== SIGNING_ALG || header.typ !== ACCESS_TOKEN_TYP || 'jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header) return null;
    kid = header.kid;
  } catch {
    return null;
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64) return null;
  const key = await verificationKey(signingKeysDb(db), kid, now);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      typ: ACCESS_TOKEN_TYP,
      issuer: settings.issuerUrl!,
      audience: settings.audience,
      requiredClaims: ['exp', 'iat', 'sub', 'sid', 'client_id', 'scope'],
      currentDate: new Date(now * 1000),
      maxTokenAge: ACCESS_TOKEN_MAX_TTL_SECONDS,
    });
    const { sub, sid, client_id, scope } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof client_id !== 'string' || typeof scope !== 'string') return null;
    return { sub, sid, clientId: client_id, scope };
  } catch {
    return null;
  }
}
