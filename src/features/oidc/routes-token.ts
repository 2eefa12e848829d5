import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { clientInfo } from '../../http/middleware/client-info';
import { idShardDb } from '../../http/middleware/shard';
import { primaryDb, shardCount, shardDb, shardOfResetToken } from '../../db/shards';
import { routeGroup } from '../../http/openapi/declare';
import { logEvent } from '../../core/log';
import { nowSeconds } from '../../core/time';
import { readRefreshToken } from '../../tokens/refresh-token';
import { authenticateClient, clientCredentials, readForm, verifyClient } from './client-auth';
import { findClient } from './clients';
import { issuerOf } from './config';
import { protocolRoute, type DocumentedRoute } from './route-doc';
import { discoveryDocument, DISCOVERY_HEADERS } from './discovery';
import { exchangeCode } from './exchange';
import { liveGrant, revokeClientSession } from './grants';
import { isOAuthError, OAuthError, oauthErrorResponse } from './oauth-error';
import { refreshGrant } from './refresh';
import { scheduleBackchannelLogout } from './backchannel';
import { verifyProviderAccessToken } from './tokens';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
const json = { 'application/json': { schema: { type: 'object' as const } } };

const discoveryRoutes = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map((path) =>
  ({
    method: 'get',
    path,
    operationId: path.includes('openid') ? 'getOpenidConfiguration' : 'getOauthAuthorizationServer',
    summary: 'OpenID Provider metadata',
    description: 'OIDC Discovery 1.0 (and RFC 8414 at the second path): the same document.',
    responses: { 200: { description: 'The metadata.', content: json } },
  }) as const,
);

const tokenRoute: DocumentedRoute = ({
  method: 'post',
  path: '/token',
  operationId: 'postToken',
  summary: 'OAuth 2.0 token endpoint',
  description:
    '`application/x-www-form-urlencoded`: `grant_type=authorization_code` (`code`, `redirect_uri`, `code_verifier`) or `refresh_token` (`refresh_token`, optional narrower `scope`). Client authentication: `client_secret_basic`, `client_secret_post`, or none for a public client. Errors per RFC 6749 §5.2.',
  responses: { 200: { description: 'The tokens; `Cache-Control: no-store`.', content: json }, 400: { description: 'RFC 6749 §5.2 error.', content: json }, 401: { description: '`invalid_client`.', content: json } },
});

const userinfoRoutes = (['get', 'post'] as const).map((method) =>
  ({
    method,
    path: '/userinfo',
    operationId: `${method}Userinfo`,
    summary: 'OpenID Connect UserInfo',
    description:
      'An access token from /token, while its session is live, in `Authorization: Bearer` (GET or POST) or as the form field `access_token` (POST), one way only: `{ sub, preferred_username? }` (`profile` scope). Errors per RFC 6750 §3.',
    responses: {
      200: { description: 'The claims.', content: json },
      400: { description: 'RFC 6750 `invalid_request` (malformed, or the token sent two ways), with `WWW-Authenticate: Bearer error=...`.', content: json },
      401: { description: 'No token (`WWW-Authenticate: Bearer`), or RFC 6750 `invalid_token`.', content: json },
    },
  }) as const,
);

const revokeRoute: DocumentedRoute = ({
  method: 'post',
  path: '/revoke',
  operationId: 'postRevoke',
  summary: 'OAuth 2.0 token revocation (RFC 7009)',
  description: 'Client-authenticated. Revokes a refresh token or an access token of this client, and with it the client session’s other tokens; `200` also for a token that is unknown.',
  responses: { 200: { description: 'Done (or nothing to do).' }, 400: { description: 'RFC 6749 §5.2 error.', content: json }, 401: { description: '`invalid_client`.', content: json } },
});

const usedBasic = (c: Context) => /^\s*basic\b/i.test(c.req.header('Authorization') ?? '');

async function token(c: Context<AppEnv>): Promise<Response> {
  const now = nowSeconds();
  const settings = c.get('settings');
  const fail = (failure: OAuthError) => oauthErrorResponse(c, failure, usedBasic(c));
  const form = await readForm(c);
  if (isOAuthError(form)) return fail(form);
  const credentials = clientCredentials(c, form);
  if (isOAuthError(credentials)) return fail(credentials);
  const primary = primaryDb(c.env);
  const grantType = form.get('grant_type');
  const code = form.get('code');
  // The code names its shard (src/db/shard-ids.ts); one that names none is unknown.
  const shard = grantType === 'authorization_code' && code ? shardOfResetToken(code, shardCount(c.env)) : null;
  const redirectUri = form.get('redirect_uri');
  const codeVerifier = form.get('code_verifier');
  if (code && redirectUri && codeVerifier && shard !== null) {
    // The exchange reads the client with the code (exchange.ts): one round trip for both.
    const result = await exchangeCode(primary, shardDb(c.env, shard), settings, credentials, { code, redirectUri, codeVerifier }, now, clientInfo(c));
    return isOAuthError(result) ? fail(result) : c.json(result, 200, NO_STORE);
  }
  // Every other request: the client first, so invalid_client comes before any other error.
  const authenticated = await verifyClient(await findClient(primary, credentials.clientId), credentials);
  if (isOAuthError(authenticated)) return fail(authenticated);
  const { client } = authenticated;
  let result;
  if (grantType === 'authorization_code') {
    if (!code || !redirectUri) return fail(new OAuthError('invalid_request', 'code and redirect_uri are required.'));
    if (!codeVerifier) return fail(new OAuthError('invalid_request', 'code_verifier is required (PKCE).'));
    return fail(new OAuthError('invalid_grant', 'The code is invalid, expired, already used, or was issued to another client or redirect URI.'));
  } else if (grantType === 'refresh_token') {
    const refreshToken = form.get('refresh_token');
    if (!refreshToken) return fail(new OAuthError('invalid_request', 'refresh_token is required.'));
    const claims = await readRefreshToken(settings.oidcKey, refreshToken);
    const db = claims ? idShardDb(c, claims.sessionId) : null;
    if (!db) return fail(new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked.'));
    result = await refreshGrant(db, settings, client, { refreshToken, scope: form.get('scope') }, now, clientInfo(c), (userId) => scheduleBackchannelLogout(c, userId));
  } else if (grantType === undefined) {
    return fail(new OAuthError('invalid_request', 'grant_type is required.'));
  } else {
    return fail(new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.'));
  }
  if (isOAuthError(result)) return fail(result);
  return c.json(result, 200, NO_STORE);
}

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * RFC 6750 §2.1 (the header, GET or POST) and §2.2 (a form body's
 * `access_token`, POST only); one method per request. §3: no token, a bare
 * `Bearer` challenge; a malformed request or two methods, 400
 * `invalid_request`; a bad token, 401 `invalid_token`. The query form (§2.3)
 * is not accepted: URLs end up in logs.
 */
async function userinfo(c: Context<AppEnv>): Promise<Response> {
  const now = nowSeconds();
  const settings = c.get('settings');
  const challenge = (status: 400 | 401, error?: 'invalid_request' | 'invalid_token', description?: string) =>
    c.json(error ? { error, error_description: description } : { error: 'invalid_request', error_description: 'An access token is required.' }, status, {
      'WWW-Authenticate': error ? `Bearer error="${error}", error_description="${description}"` : 'Bearer',
      ...NO_STORE,
    });
  const header = c.req.header('Authorization');
  const isBearer = header !== undefined && /^\s*bearer\b/i.test(header);
  const fromHeader = isBearer ? BEARER.exec(header.trim())?.[1] : undefined;
  if (isBearer && !fromHeader) return challenge(400, 'invalid_request', 'The Authorization header is malformed.');
  let fromBody: string | undefined;
  if (c.req.method === 'POST' && (c.req.header('Content-Type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const form = await readForm(c);
    // A fixed description: the header must never echo what the client sent (a repeated name may hold anything).
    if (isOAuthError(form)) return challenge(400, 'invalid_request', 'The request body is malformed or repeats a parameter.');
    fromBody = form.get('access_token');
  }
  if (fromHeader !== undefined && fromBody !== undefined) return challenge(400, 'invalid_request', 'Send the access token one way only.');
  const presented = fromHeader ?? fromBody;
  if (!presented) return challenge(401);
  const claims = await verifyProviderAccessToken(primaryDb(c.env), settings, presented, now);
  const db = claims ? idShardDb(c, claims.sid) : null;
  const live = claims && db ? await liveGrant(db, claims.sid, claims.clientId, now, settings.sessionIdleSeconds) : null;
  if (!claims || !live || live.user.id !== claims.sub) {
    logEvent('oidc_token_refused', { reason: 'userinfo' });
    return challenge(401, 'invalid_token', 'The access token is invalid, expired or revoked.');
  }
  const scopes = claims.scope.split(' ');
  return c.json({ sub: live.user.id, ...(scopes.includes('profile') ? { preferred_username: live.user.username } : {}) }, 200, NO_STORE);
}

/** RFC 7009 §2.2: 200 whether or not there was anything to revoke; another client's token is left alone. */
async function revoke(c: Context<AppEnv>): Promise<Response> {
  const now = nowSeconds();
  const settings = c.get('settings');
  const fail = (failure: OAuthError) => oauthErrorResponse(c, failure, usedBasic(c));
  const form = await readForm(c);
  if (isOAuthError(form)) return fail(form);
  const authenticated = await authenticateClient(c, primaryDb(c.env), form);
  if (isOAuthError(authenticated)) return fail(authenticated);
  const presented = form.get('token');
  if (!presented) return fail(new OAuthError('invalid_request', 'token is required.'));
  const sessionId =
    (await readRefreshToken(settings.oidcKey, presented))?.sessionId ?? (await verifyProviderAccessToken(primaryDb(c.env), settings, presented, now))?.sid ?? null;
  const db = sessionId ? idShardDb(c, sessionId) : null;
  if (sessionId && db && (await revokeClientSession(db, sessionId, authenticated.client.id, now, clientInfo(c), true))) {
    logEvent('oidc_token_revoked', { sessionId });
  }
  return c.body(null, 200, NO_STORE);
}

/** Discovery, /token, /userinfo, /revoke (API.md, "Endpoints"). */
export const tokenRoutes = routeGroup();
for (const route of discoveryRoutes) protocolRoute(tokenRoutes, route, (c) => c.json(discoveryDocument(issuerOf(c)), 200, DISCOVERY_HEADERS));
protocolRoute(tokenRoutes, tokenRoute, token);
for (const route of userinfoRoutes) protocolRoute(tokenRoutes, route, userinfo);
protocolRoute(tokenRoutes, revokeRoute, revoke);
