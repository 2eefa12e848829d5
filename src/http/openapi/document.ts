import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env';
import { TAGS } from './components';

/**
 * The OpenAPI 3.1 document of every route declared on `app`: generated from
 * the same declarations that validate the requests, so it cannot drift.
 */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'edge-mfa',
      version: '0.2.0',
      description:
        'Password + TOTP multi-factor authentication. Every error body is `{ error, message }`; bodies over 16 KiB get 413, other content types 415. Responses are never cacheable.',
      contact: { name: 'edge-mfa maintainers', url: 'https://github.com/edge-mfa/edge-mfa' },
    },
    servers: [
      // Paths are the same on every deployment; this is the one `npm run dev` serves.
      { url: 'http://localhost:8787', description: 'Local development (npm run dev); a deployment serves the same paths at its own origin.' },
    ],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  });
}

const cache = new WeakMap<object, string>();

/** Built once per isolate: the declarations do not change while it lives. */
export function openApiJson(app: OpenAPIHono<AppEnv>): string {
  let json = cache.get(app);
  if (json === undefined) {
    json = JSON.stringify(buildOpenApiDocument(app));
    cache.set(app, json);
  }
  return json;
}
