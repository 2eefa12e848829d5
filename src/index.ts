import { $ } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './http/app-env';
import { STORAGE_RETRY_AFTER_SECONDS, transientD1Kind } from './db/transient';
import { ApiError, errorResponse } from './core/errors';
import { logError, logEvent } from './core/log';
import { routeGroup } from './http/openapi/declare';
import { account } from './features/account/routes';
import { admin } from './features/support/routes';
import { selfService } from './features/self-service/routes';
import { openApiJson } from './http/openapi/document';
import { openApiRoute } from './features/service/openapi-route';
import { health } from './features/service/health';
import { keys } from './features/service/jwks';
import { sessionRoutes } from './features/sessions/routes';
import { mfa } from './features/totp/routes';
import { page } from './features/page/routes';
import { webauthn } from './features/passkeys/routes';
import { oidc } from './features/oidc/routes';
import { backchannelLogoutAfter } from './features/oidc/backchannel';
import { scheduled } from './scheduled';
import { getSettings } from './settings';

/** Loads (once per isolate) and validates the configuration; a missing secret fails here, loudly. */
const settings = createMiddleware<AppEnv>(async (c, next) => {
  c.set('settings', await getSettings(c.env));
  await next();
});

/**
 * Every response of an auth API may carry a token, secret, QR or recovery
 * code, so none may be cached; nosniff stops a browser guessing types.
 */
const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  // The JWKS alone sets its own caching (it holds only public keys).
  if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  c.header('X-Content-Type-Options', 'nosniff');
});

/** CORS only for the exact origins listed; bearer tokens, so no credentials mode. */
const corsForListedOrigins = createMiddleware<AppEnv>(async (c, next) => {
  const origins = c.get('settings').corsOrigins;
  if (origins.length === 0) return next();
  return cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type'],
    // A page must be able to read how long a 429 lasts and why a 401 happened (API.md).
    exposeHeaders: ['Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  })(c, next);
});

// Bodies are read per route, after its bearer check (see declareRoute), so an
// unknown path is 404 before its body is read (API.md, order of checks).
const app = $(routeGroup().use(securityHeaders, settings, corsForListedOrigins, backchannelLogoutAfter))
  .route('/', account)
  .route('/', mfa)
  .route('/', sessionRoutes)
  .route('/', webauthn)
  .route('/', keys)
  .route('/', selfService)
  .route('/', admin)
  .route('/', health)
  .route('/', page)
  .route('/', oidc)
  .openapi(openApiRoute, async (c) => c.body(await openApiJson(c.env.ASSETS), 200, { 'Content-Type': 'application/json; charset=utf-8' }));

app.notFound((c) => errorResponse(c, 'not_found'));

app.onError((error, c) => {
  if (error instanceof ApiError) return errorResponse(c, error.code, error.extra);
  // D1 overloaded or briefly unreachable: the client may retry, so 503, never 500 (API.md).
  const transient = transientD1Kind(error);
  if (transient) {
    logEvent('storage_unavailable', { reason: transient, route: `${c.req.method} ${c.req.path}` });
    return errorResponse(c, 'unavailable', { retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS });
  }
  // Never the request, never a stack trace in the response: the class and message go to the log.
  logError(`${c.req.method} ${c.req.path}`, error);
  return errorResponse(c, 'internal');
});

export type App = typeof app;
export { app };

/** The Worker: HTTP requests, and the Cron Triggers (wrangler.toml `[triggers]`: daily and hourly). */
export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
