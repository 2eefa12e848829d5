import { refreshSession } from './refresh';
import { endSession, listSessions, logout } from './session-list';
import { verifyPasskey } from '../../core/second-factor/passkey';
import { verifySecondFactor } from '../../core/second-factor/code';
import { ApiError } from '../../core/errors';
import { clientInfo } from '../../http/middleware/client-info';
import { callerDb, idShardDb } from '../../http/middleware/shard';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { sessionsResponse, tokensResponse } from '../../http/openapi/responses';
import { logoutSchema, reauthenticateSchema, refreshSchema, sessionIdParams } from '../../http/schemas';
import { nowSeconds } from '../../core/time';
import { sessionIdOfRefreshToken } from '../../tokens/refresh-token';

const refreshRoute = declareRoute({
  method: 'post',
  path: '/refresh',
  tag: 'sessions',
  summary: 'Rotate the refresh token; get a new access token',
  description:
    'Each refresh rotates the refresh token. The previous one, sent again within 30 s (a lost response, a second tab), gets the same new pair; any other reuse revokes the whole session. Unknown, expired, revoked and reused tokens all get `401 invalid_refresh_token`.',
  token: 'none',
  body: refreshSchema,
  success: { status: 200, description: 'The new pair.', schema: tokensResponse },
  errors: ['invalid_refresh_token'],
});

const reauthenticateRoute = declareRoute({
  method: 'post',
  path: '/reauthenticate',
  tag: 'sessions',
  summary: 'Prove a second factor again (step-up)',
  description:
    'For the sensitive operations, which need a second factor proven within the last 300 s. Same session, a fresh `auth_time`, and a new pair. Codes are throttled by the same per-account budget as `/otp-verify`; a passkey (`webauthn`, with a challenge from POST /webauthn/login/options made with this token) by its own.',
  token: 'full',
  session: 'flow',
  body: reauthenticateSchema,
  success: { status: 200, description: 'The factor is proven again.', schema: tokensResponse },
  errors: ['mfa_required', 'invalid_code', 'mfa_not_enrolled', 'too_many_requests'],
});

const listRoute = declareRoute({
  method: 'get',
  path: '/sessions',
  tag: 'sessions',
  summary: 'The live sessions of the account',
  description: 'Newest first; `current` marks the session of the token that asked.',
  token: 'full',
  success: { status: 200, description: 'The sessions.', schema: sessionsResponse },
  errors: [],
});

const endRoute = declareRoute({
  method: 'delete',
  path: '/sessions/{id}',
  tag: 'sessions',
  summary: 'End one session',
  description: 'Another user’s session and an unknown id are both `404 not_found`.',
  token: 'full',
  params: sessionIdParams,
  success: { status: 204, description: 'Ended; no body.' },
  errors: ['not_found'],
});

const logoutRoute = declareRoute({
  method: 'post',
  path: '/logout',
  tag: 'account',
  summary: 'End this session, the others, or all of the user’s',
  description:
    '`scope`: `current` (the default, also with no body), `others` or `all`; `{ "all": true }` still means all. A password-only token may end only its own session (`403 mfa_required`).',
  token: 'any',
  body: logoutSchema,
  bodyOptional: true,
  success: { status: 204, description: 'Revoked; no body.' },
  errors: ['mfa_required'],
});

/** Refresh, step-up and the list of sessions. */
export const sessionRoutes = routeGroup()
  .openapi(refreshRoute, async (c) => {
    const { refreshToken } = c.req.valid('json');
    // The token names its session, whose id names the shard; a token naming none is refused like any unknown one.
    const sessionId = sessionIdOfRefreshToken(refreshToken);
    const db = sessionId === null ? null : idShardDb(c, sessionId);
    if (!db) throw new ApiError('invalid_refresh_token');
    const tokens = await refreshSession(db, c.get('settings'), refreshToken, nowSeconds(), clientInfo(c));
    return c.json({ ...tokens, authorized: true as const }, 200);
  })
  .openapi(reauthenticateRoute, async (c) => {
    const body = c.req.valid('json');
    const db = callerDb(c);
    const client = clientInfo(c);
    const result = body.webauthn
      ? await verifyPasskey(db, c.get('settings'), c.get('claims'), body.webauthn, nowSeconds(), { purpose: 'reauthenticate', client })
      : await verifySecondFactor(db, c.get('settings'), c.get('claims'), body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode! }, nowSeconds(), {
          purpose: 'reauthenticate',
          client,
        });
    return c.json({ token: result.token, refreshToken: result.refreshToken, authorized: true as const, expiresIn: result.expiresIn }, 200);
  })
  .openapi(listRoute, async (c) => {
    const sessions = await listSessions(callerDb(c), c.get('settings'), c.get('auth'), nowSeconds());
    return c.json({ sessions }, 200);
  })
  .openapi(endRoute, async (c) => {
    await endSession(callerDb(c), c.get('settings'), c.get('auth'), c.req.valid('param').id, nowSeconds(), clientInfo(c));
    return c.body(null, 204);
  })
  .openapi(logoutRoute, async (c) => {
    const { scope, all } = c.req.valid('json');
    await logout(callerDb(c), c.get('auth'), scope ?? (all === true ? 'all' : 'current'), nowSeconds(), clientInfo(c));
    return c.body(null, 204);
  });
