import { describe, expect, it } from 'vitest';
import * as realProcessors from '../../node_modules/zod/v4/core/json-schema-processors.js';
import * as realToJsonSchema from '../../node_modules/zod/v4/core/to-json-schema.js';
import * as stub from '../../src/lib/zod-json-schema-stub';

// The deployed bundle replaces zod's two JSON Schema modules with
// src/lib/zod-json-schema-stub.ts (wrangler.toml [alias]). The test pool
// applies no alias, so what the swap relies on is checked here directly.
describe("the bundle's stand-in for zod's JSON Schema modules", () => {
  it('exports every name the real modules export (a zod upgrade that adds one fails here, not at deploy)', () => {
    const real = new Set([...Object.keys(realProcessors), ...Object.keys(realToJsonSchema)]);
    expect(Object.keys(stub).sort()).toEqual([...real].sort());
  });

  it('keeps the real aggregateChecks, which the derived getters (minLength, format) that zod-to-openapi reads call', () => {
    expect(stub.aggregateChecks).toBe(realProcessors.aggregateChecks);
  });

  it('fails loudly, never silently, if a conversion is ever asked for', () => {
    expect(() => stub.toJSONSchema()).toThrow(/not in the Worker bundle/);
    expect(() => stub.createToJSONSchemaMethod()()).toThrow(/not in the Worker bundle/);
  });
});
