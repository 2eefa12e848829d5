/**
 * What zod's own JSON Schema modules resolve to in the deployed bundle
 * (wrangler.toml `[alias]`, keyed by the exact relative paths zod 4.6.7 imports
 * them by: ../core/json-schema-processors.js, ./json-schema-processors.js,
 * ../core/to-json-schema.js, ./to-json-schema.js). Every zod schema class wires
 * in a JSON Schema converter (`.toJSONSchema()`, `~standard.jsonSchema`), so
 * the converters of every schema kind in use were bundled: 5.9 KiB gzipped.
 * Nothing in the Worker converts a schema to JSON Schema: /openapi.json is
 * built by zod-to-openapi, which reads zod's schema definitions itself; its
 * only call into these modules is through the derived getters (`minLength`,
 * `format`, ...), which use `aggregateChecks`, re-exported here unchanged.
 * In the Worker, `schema.toJSONSchema()` throws; tests run the real modules
 * (the test pool applies no alias) and test/openapi/bundle-aliases.test.ts
 * checks that this file exports every name zod imports from the two.
 */
export { aggregateChecks } from '../../node_modules/zod/v4/core/json-schema-processors.js';

function unavailable(): never {
  throw new Error("zod's JSON Schema conversion is not in the Worker bundle (src/lib/zod-json-schema-stub.ts)");
}
const factory = () => unavailable;

// ./to-json-schema.js
export const initializeContext = unavailable;
export const handleUnrepresentable = unavailable;
export const processSchema = unavailable;
export { processSchema as process };
export const extractDefs = unavailable;
export const finalize = unavailable;
export const createToJSONSchemaMethod = factory;
export const createStandardJSONSchemaMethod = factory;

// ./json-schema-processors.js
export const toJSONSchema = unavailable;
export const allProcessors = {};
export const anyProcessor = unavailable;
export const arrayProcessor = unavailable;
export const bigintProcessor = unavailable;
export const booleanProcessor = unavailable;
export const catchProcessor = unavailable;
export const customProcessor = unavailable;
export const dateProcessor = unavailable;
export const defaultProcessor = unavailable;
export const enumProcessor = unavailable;
export const fileProcessor = unavailable;
export const functionProcessor = unavailable;
export const intersectionProcessor = unavailable;
export const lazyProcessor = unavailable;
export const literalProcessor = unavailable;
export const mapProcessor = unavailable;
export const nanProcessor = unavailable;
export const neverProcessor = unavailable;
export const nonoptionalProcessor = unavailable;
export const nullProcessor = unavailable;
export const nullableProcessor = unavailable;
export const numberProcessor = unavailable;
export const objectProcessor = unavailable;
export const optionalProcessor = unavailable;
export const pipeProcessor = unavailable;
export const prefaultProcessor = unavailable;
export const promiseProcessor = unavailable;
export const readonlyProcessor = unavailable;
export const recordProcessor = unavailable;
export const setProcessor = unavailable;
export const stringProcessor = unavailable;
export const successProcessor = unavailable;
export const symbolProcessor = unavailable;
export const templateLiteralProcessor = unavailable;
export const transformProcessor = unavailable;
export const tupleProcessor = unavailable;
export const undefinedProcessor = unavailable;
export const unionProcessor = unavailable;
export const unknownProcessor = unavailable;
export const voidProcessor = unavailable;
