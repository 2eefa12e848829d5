import * as z from 'zod';
import { ApiError } from '../../core/errors';
import { nowSeconds } from '../../core/time';
import { primaryDb } from '../../db/shards';
import { clientInfo } from '../../http/middleware/client-info';
import { callerDb } from '../../http/middleware/shard';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { grantsResponse } from '../../http/openapi/responses';
import { logEvent } from '../../core/log';
import { requireProvider } from './config';
import { connectedApps, revokeConnectedApp } from './connected-apps';

const common = { tag: 'oidc' as const, token: 'full' as const, before: [requireProvider] };

const listRoute = declareRoute({
  ...common,
  method: 'get',
  path: '/me/grants',
  summary: 'The applications holding this person’s consent or tokens',
  description:
    'Connected apps, newest first: every client holding a remembered consent or a token of a live session (a refresh token, or an access token not yet expired); the scopes allowed, when first allowed, and when its tokens were last used (null with a consent alone).',
  success: { status: 200, description: 'The connected apps.', schema: grantsResponse },
  errors: [],
});

const revokeRoute = declareRoute({
  ...common,
  method: 'delete',
  path: '/me/grants/{clientId}',
  summary: 'Disconnect an application',
  description:
    'Its remembered consents, unspent codes and every session it holds tokens for end at once (no step-up: revoking only takes access away), and the client is sent a back-channel logout token. A client that holds nothing of this person’s is `404 not_found`.',
  params: z.object({ clientId: z.string().min(1).max(64) }),
  success: { status: 204, description: 'Revoked; no body.' },
  errors: ['not_found'],
});

/** GET and DELETE /me/grants (API.md, "Logout and revocation"). */
export const meGrantRoutes = routeGroup()
  .openapi(listRoute, async (c) => {
    const auth = c.get('auth');
    const grants = await connectedApps(callerDb(c), primaryDb(c.env), auth.user.id, nowSeconds(), c.get('settings'));
    return c.json({ grants }, 200);
  })
  .openapi(revokeRoute, async (c) => {
    const auth = c.get('auth');
    const { clientId } = c.req.valid('param');
    const revoked = await revokeConnectedApp(callerDb(c), primaryDb(c.env), auth.user.id, clientId, nowSeconds(), c.get('settings'), clientInfo(c));
    if (!revoked) throw new ApiError('not_found');
    logEvent('oidc_grant_revoked', { userId: auth.user.id, sessionId: auth.sessionId });
    return c.body(null, 204);
  });
