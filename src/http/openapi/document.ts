import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env';
import { registerComponents, TAGS } from './components';
import { OPENAPI_DOCUMENT_PATH } from './document.generated';

const withComponents = new WeakSet<object>();

/**
 * The OpenAPI 3.1 document of every route declared on `app`: generated from
 * the same declarations that validate the requests, so it cannot drift. The
 * shared components (the error body, one example per code, the security
 * schemes) concern only the document, so they are registered here, once per
 * app, after every route: the Worker, which never builds the document, does
 * not carry them.
 */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>) {
  if (!withComponents.has(app)) {
    registerComponents(app);
    withComponents.add(app);
  }
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

let served: Promise<string> | undefined;

/**
 * GET /openapi.json's body: the document above, built from the declarations
 * at build time (scripts/build-page.mjs) into the Worker's static assets and
 * read once per isolate through the ASSETS binding. The Worker does not build
 * it: the deployed bundle leaves zod-to-openapi's generator out
 * (src/lib/zod-to-openapi-bundle.ts), and test/openapi/document.test.ts checks
 * that the served document is the one the declarations build.
 */
export function openApiJson(assets: Fetcher): Promise<string> {
  served ??= (async () => {
    const response = await assets.fetch(new URL(OPENAPI_DOCUMENT_PATH, 'https://assets.invalid'));
    if (!response.ok) throw new Error(`${OPENAPI_DOCUMENT_PATH} is not in the static assets (${response.status}): run node scripts/build-page.mjs`);
    return response.text();
  })();
  // A failed read is not kept: the next request tries again.
  served.catch(() => (served = undefined));
  return served;
}
