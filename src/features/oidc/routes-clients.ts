import { allShardDbs, primaryDb } from '../../db/shards';
import { ApiError } from '../../core/errors';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { nowSeconds } from '../../core/time';
import { findClient, viewOf } from './clients';
import { requireProvider } from './config';
import { createClient, deleteClient, listClients, patchClient, rotateClientSecret } from './registry';
import { backchannelUriProblem, clientCreateBody, clientCreatedResponse, clientIdParams, clientListResponse, clientPatchBody, clientResponse, clientSecretResponse } from './schemas';

const common = { tag: 'oidc' as const, token: 'admin' as const, before: [requireProvider] };

/** The back-channel URI's rule that depends on the deployment: a loopback host only in a local run (schemas.ts). */
function checkBackchannelUri(uri: string | null | undefined, development: boolean): void {
  const problem = uri ? backchannelUriProblem(uri, development) : null;
  if (problem) throw new ApiError('validation_failed', { issues: [{ path: 'backchannelLogoutUri', message: problem }] });
}

const createRoute = declareRoute({
  ...common,
  method: 'post',
  path: '/admin/clients',
  summary: 'Register an OpenID client',
  description:
    'A confidential client’s secret is in this answer only; it is stored hashed. `idTokenSignedResponseAlg` defaults to `RS256`. `backchannelLogoutUri` is https on a DNS name (no IP address, userinfo or fragment); a loopback host only when ENVIRONMENT is "development".',
  body: clientCreateBody,
  success: { status: 201, description: 'The client (and its secret, this once).', schema: clientCreatedResponse },
  errors: [],
});

const listRoute = declareRoute({
  ...common,
  method: 'get',
  path: '/admin/clients',
  summary: 'List the OpenID clients',
  description: 'Never a secret.',
  success: { status: 200, description: 'The clients, oldest first.', schema: clientListResponse },
  errors: [],
});

const getRoute = declareRoute({
  ...common,
  method: 'get',
  path: '/admin/clients/{id}',
  summary: 'One OpenID client',
  description: 'Never its secret.',
  params: clientIdParams,
  success: { status: 200, description: 'The client.', schema: clientResponse },
  errors: ['not_found'],
});

const patchRoute = declareRoute({
  ...common,
  method: 'patch',
  path: '/admin/clients/{id}',
  summary: 'Change an OpenID client',
  description: 'Any field but `type`.',
  params: clientIdParams,
  body: clientPatchBody,
  success: { status: 200, description: 'The client.', schema: clientResponse },
  errors: ['not_found'],
});

const secretRoute = declareRoute({
  ...common,
  method: 'post',
  path: '/admin/clients/{id}/secret',
  summary: 'Give a confidential client a new secret',
  description: 'The old secret stops working at once. A public client has none: `404 not_found`.',
  params: clientIdParams,
  success: { status: 201, description: 'The new secret, shown this once.', schema: clientSecretResponse },
  errors: ['not_found'],
});

const deleteRoute = declareRoute({
  ...common,
  method: 'delete',
  path: '/admin/clients/{id}',
  summary: 'Delete an OpenID client',
  description: 'Its codes, consents and grants end with it, and every session it holds tokens for is revoked.',
  params: clientIdParams,
  success: { status: 204, description: 'Deleted.' },
  errors: ['not_found'],
});

/** The client registry behind ADMIN_TOKEN (API.md, "Issuer and clients"), on the primary. */
export const clientRoutes = routeGroup()
  .openapi(createRoute, async (c) => {
    const input = c.req.valid('json');
    checkBackchannelUri(input.backchannelLogoutUri, c.get('settings').development);
    return c.json(await createClient(primaryDb(c.env), input, nowSeconds()), 201);
  })
  .openapi(listRoute, async (c) => c.json({ clients: await listClients(primaryDb(c.env)) }, 200))
  .openapi(getRoute, async (c) => {
    const row = await findClient(primaryDb(c.env), c.req.valid('param').id);
    if (!row) throw new ApiError('not_found');
    return c.json(viewOf(row), 200);
  })
  .openapi(patchRoute, async (c) => {
    const input = c.req.valid('json');
    checkBackchannelUri(input.backchannelLogoutUri, c.get('settings').development);
    const view = await patchClient(primaryDb(c.env), c.req.valid('param').id, input, nowSeconds());
    if (!view) throw new ApiError('not_found');
    return c.json(view, 200);
  })
  .openapi(secretRoute, async (c) => {
    const clientSecret = await rotateClientSecret(primaryDb(c.env), c.req.valid('param').id, nowSeconds());
    if (!clientSecret) throw new ApiError('not_found');
    return c.json({ clientSecret }, 201);
  })
  .openapi(deleteRoute, async (c) => {
    if (!(await deleteClient(primaryDb(c.env), allShardDbs(c.env), c.req.valid('param').id, nowSeconds()))) throw new ApiError('not_found');
    return c.body(null, 204);
  });
