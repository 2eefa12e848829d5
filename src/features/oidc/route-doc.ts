import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { requireProvider } from './config';

/**
 * The provider's protocol routes answer in OAuth's formats (form bodies,
 * RFC 6749 errors, redirects, HTML), not the JSON API's, so they are not
 * `declareRoute`s; each is still declared once: this records it in
 * /openapi.json and mounts its handler behind requireProvider.
 */
export type DocumentedRoute = Omit<RouteConfig, 'tags'>;

export function protocolRoute(group: OpenAPIHono<AppEnv>, route: DocumentedRoute, handler: (c: Context<AppEnv>) => Promise<Response> | Response, before: MiddlewareHandler<AppEnv>[] = []) {
  group.openAPIRegistry.registerPath({ ...route, tags: ['oidc'] } as RouteConfig);
  group.on(route.method.toUpperCase(), route.path, requireProvider, ...before, handler);
  return group;
}
