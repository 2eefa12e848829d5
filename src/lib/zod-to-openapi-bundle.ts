/**
 * What `@asteasolutions/zod-to-openapi` resolves to in the deployed bundle
 * (wrangler.toml `[alias]`): the real module's registry and schema metadata,
 * which @hono/zod-openapi uses as every route is declared, without its
 * document generators (`OpenAPIHono#getOpenAPI31Document`), 5.6 KiB gzipped.
 * The Worker never generates the document: GET /openapi.json serves the one
 * scripts/build-page.mjs built from the same declarations into the static
 * assets (src/http/openapi/document.ts). The generators here fail loudly.
 * Tests and scripts run the real module (the test pool and
 * scripts/openapi-document.mjs apply no such alias);
 * test/openapi/bundle-aliases.test.ts checks that this file exports every name
 * the real one does, and the same objects but for the generators.
 */
import type * as Real from '@asteasolutions/zod-to-openapi';
// @ts-expect-error The file has no declarations beside it; the package's own (index.d.ts) type the names below.
import { extendZodWithOpenApi as extend, getOpenApiMetadata as metadata, getRefId as refId, OpenAPIRegistry as Registry, zodToOpenAPIRegistry as registry } from '../../node_modules/@asteasolutions/zod-to-openapi/dist/index.mjs';

export const extendZodWithOpenApi: typeof Real.extendZodWithOpenApi = extend;
export const getOpenApiMetadata: typeof Real.getOpenApiMetadata = metadata;
export const getRefId: typeof Real.getRefId = refId;
export const OpenAPIRegistry: typeof Real.OpenAPIRegistry = Registry;
export const zodToOpenAPIRegistry: typeof Real.zodToOpenAPIRegistry = registry;

class NoGenerator {
  constructor() {
    throw new Error('zod-to-openapi\'s document generator is not in the Worker bundle (src/lib/zod-to-openapi-bundle.ts)');
  }
}

export { NoGenerator as OpenApiGeneratorV3, NoGenerator as OpenApiGeneratorV31, NoGenerator as OpenApiGeneratorV32 };
