/**
 * What `import ... from 'zod'` resolves to in the deployed bundle (wrangler.toml
 * `[alias]`): all of zod's named exports, so our `import * as z from 'zod'`
 * still tree-shakes, and a `z` object with only what @hono/zod-openapi's
 * `extendZodWithOpenApi(z)` touches (`z.ZodType`). @hono/zod-openapi imports
 * the whole `z` namespace for that one call, which drags every locale and
 * zod's JSON Schema reader into the bundle (+63 KiB gzipped, BENCHMARKS.md).
 * Never import `z` from '@hono/zod-openapi' in src/: use `import * as z from 'zod'`.
 * The path is relative because the alias also rewrites every 'zod/...' import.
 */
export * from '../../node_modules/zod/v4/classic/external.js';
import { ZodType } from '../../node_modules/zod/v4/classic/external.js';

export const z = { ZodType };
