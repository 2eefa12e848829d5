import * as z from 'zod';
import { ERRORS, type ErrorCode } from '../errors';
import { errorBody } from './responses';
import { errorCodesOf, ROUTES, type RouteSpec } from './routes';

/**
 * The OpenAPI 3.1 document, built from the route table and the zod schemas
 * that validate the requests, so it cannot drift from them. OpenAPI 3.1
 * Schema Objects are JSON Schema 2020-12, which is what z.toJSONSchema emits.
 */

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  // Requests are documented as what a client sends (before transforms), responses as what it gets.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  return rest;
}

const RETRY_AFTER = {
  description: 'Seconds until the lock ends.',
  schema: { type: 'integer', minimum: 1 },
};
const WWW_AUTHENTICATE = {
  description: '`Bearer`, with `401 unauthorized`.',
  schema: { type: 'string', const: 'Bearer' },
};

function errorResponses(route: RouteSpec): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERRORS[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Json = {};
  for (const [status, codes] of byStatus) {
    const headers: Json = {};
    if (codes.includes('unauthorized')) headers['WWW-Authenticate'] = WWW_AUTHENTICATE;
    if (codes.includes('too_many_requests')) headers['Retry-After'] = { ...RETRY_AFTER, required: true };
    const examples = Object.fromEntries(codes.map((code) => [code, { value: { error: code, message: ERRORS[code][1] } }]));
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\``).join(', '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { 'application/json': { schema: jsonSchema(errorBody(codes), 'output'), examples } },
    };
  }
  return responses;
}

/** `post /create-otp` → `postCreateOtp`; `get /` → `getPage`. */
function operationId(route: RouteSpec): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('') || 'Page';
  return route.method + name;
}

function operation(route: RouteSpec): Json {
  const { success } = route;
  const content: Json = {};
  if (success.json) content['application/json'] = { schema: jsonSchema(success.json, 'output') };
  for (const [type, { type: schemaType }] of Object.entries(success.other ?? {})) content[type] = { schema: { type: schemaType } };
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    // OpenAPI 3.1 §4.8.30: for schemes other than OAuth2/OIDC the array lists required roles.
    security: route.token === 'none' ? [] : [{ bearer: route.token === 'full' ? ['full'] : [] }],
    'x-token-level': route.token,
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: { 'application/json': { schema: jsonSchema(route.body.schema, 'input') } },
          },
        }
      : {}),
    responses: {
      [String(success.status)]: {
        description: success.description,
        ...(Object.keys(content).length > 0 ? { content } : {}),
      },
      ...errorResponses(route),
    },
  };
}

export function buildOpenApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'edge-mfa',
      version: '0.1.0',
      description:
        'Password + TOTP multi-factor authentication. Every error body is `{ error, message }`; bodies over 16 KiB get 413, other content types 415. Responses are never cacheable.',
    },
    components: {
      responses: {
        notFound: {
          description: 'Any path or method not listed here: `not_found`.',
          content: { 'application/json': { schema: jsonSchema(errorBody(['not_found']), 'output') } },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'The token from `/login` (password only: good for `/create-otp`, `/qrcode`, `/otp-verify` and `/logout`, 5 minutes at most) or from `/otp-verify` (full). Operations that need a full token require the role `full`; a password-only token there gets `403 mfa_required`.',
        },
      },
    },
    paths,
  };
}

let cached: string | undefined;

/** Built once per isolate: the schemas do not change while it lives. */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildOpenApiDocument());
  return cached;
}
