import { describe, expect, it } from 'vitest';
import * as realProcessors from '../../node_modules/zod/v4/core/json-schema-processors.js';
import * as realToJsonSchema from '../../node_modules/zod/v4/core/to-json-schema.js';
import * as stub from '../../src/lib/zod-json-schema-stub';
import * as realZodToOpenApi from '@asteasolutions/zod-to-openapi';
import * as zodToOpenApiBundle from '../../src/lib/zod-to-openapi-bundle';
import { isPgEnum, pgEnum } from 'drizzle-orm/pg-core';
import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import * as pgEnumStub from '../../src/lib/drizzle-pg-enum-stub';

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

// The deployed bundle replaces @asteasolutions/zod-to-openapi with
// src/lib/zod-to-openapi-bundle.ts (wrangler.toml [alias]): the registry and
// the schema metadata every route declaration uses, without the generators.
describe("the bundle's stand-in for zod-to-openapi", () => {
  const generators = ['OpenApiGeneratorV3', 'OpenApiGeneratorV31', 'OpenApiGeneratorV32'];

  it('exports every name the real module exports (an upgrade that adds one fails here, not at deploy)', () => {
    expect(Object.keys(zodToOpenApiBundle).sort()).toEqual(Object.keys(realZodToOpenApi).sort());
  });

  it('is the real module but for the generators', () => {
    for (const [name, value] of Object.entries(zodToOpenApiBundle)) {
      if (!generators.includes(name)) expect(value, name).toBe(realZodToOpenApi[name as keyof typeof realZodToOpenApi]);
    }
  });

  it('fails loudly, never silently, if a document is ever generated in the Worker', () => {
    for (const name of generators) {
      const Generator = zodToOpenApiBundle[name as keyof typeof zodToOpenApiBundle] as unknown as new () => unknown;
      expect(() => new Generator(), name).toThrow(/not in the Worker bundle/);
    }
  });
});

// The deployed bundle replaces drizzle's pg-core/columns/enum.js, which its
// shared sql.js imports for isPgEnum alone, with src/lib/drizzle-pg-enum-stub.ts.
describe("the bundle's stand-in for drizzle's Postgres enum module", () => {
  it('exports only isPgEnum, the one name sql.js imports', () => {
    expect(Object.keys(pgEnumStub)).toEqual(['isPgEnum']);
  });

  it('answers as the real isPgEnum does, for a Postgres enum and for anything else', () => {
    const table = sqliteTable('t', { name: text('name') });
    const values: unknown[] = [pgEnum('mood', ['sad', 'happy']), table, table.name, () => undefined, {}, 'mood', 0, null, undefined];
    for (const value of values) expect(pgEnumStub.isPgEnum(value)).toBe(isPgEnum(value));
    expect(pgEnumStub.isPgEnum(values[0])).toBe(true);
  });
});
