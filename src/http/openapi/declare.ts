import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type * as z from 'zod';
import type { AppEnv } from '../app-env';
import { ApiError, ERRORS, type ErrorCode } from '../../core/errors';
import { ensureSessionBeforeBodyError, requireAuth, requireBearer, requireStepUp } from '../middleware/auth';
import { requireAdmin } from '../middleware/admin';
import { jsonBody } from '../middleware/body';
import { ERROR_SCHEMA_REF, exampleRef, securityOf, type TagName, type TokenLevel } from './components';

/**
 * One declaration per route: method, path, token level, request schemas,
 * success response and the error codes its own logic can answer. The
 * middleware (bearer auth, then the body reader), request validation, the
 * handler's types, the typed `hc` client and /openapi.json all come from it.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI path syntax: `/sessions/{id}`. */
  path: string;
  tag: TagName;
  summary: string;
  description: string;
  token: TokenLevel;
  /**
   * `flow`: the token is verified here, but the flow reads the session itself
   * in the same D1 batch as its first write (see verifySecondFactor).
   */
  session?: 'middleware' | 'flow';
  /** API.md step-up: a full token whose second factor was proven within the last 300 s. */
  stepUp?: boolean;
  /** The JSON body; `bodyOptional`: an empty body reads as `{}`. */
  body?: z.ZodType;
  bodyOptional?: boolean;
  query?: z.ZodObject;
  params?: z.ZodObject;
  success: {
    status: 200 | 201 | 204 | 304;
    description: string;
    schema?: z.ZodType;
    /** Other media types the route can answer with (the QR code as SVG, the page as HTML). */
    other?: Record<string, { type: 'string' | 'object' }>;
    headers?: Record<string, { description: string; schema: { type: 'string' | 'integer' } }>;
  };
  /** RFC 9110 §15.4.5: the route answers a matching `If-None-Match` with 304. */
  notModified?: boolean;
  /** The errors this route's own logic can answer; those of its middleware are added here. */
  errors: ErrorCode[];
  /** Middleware that runs before the bearer check and the body reader (the IP flood filter). */
  before?: MiddlewareHandler<AppEnv>[];
}

type JsonContent<S> = { content: { 'application/json': { schema: S } } };

type Declared<T extends RouteSpec> = {
  method: T['method'];
  path: T['path'];
  request: (T['body'] extends z.ZodType ? { body: JsonContent<T['body']> & { required: boolean } } : {}) &
    (T['query'] extends z.ZodObject ? { query: T['query'] } : {}) &
    (T['params'] extends z.ZodObject ? { params: T['params'] } : {});
  responses: {
    [K in T['success']['status']]: T['success']['schema'] extends z.ZodType
      ? { description: string; content: { 'application/json': { schema: T['success']['schema'] } } & (T['success']['other'] extends object ? Record<string, { schema: object }> : unknown) }
      : T['success']['other'] extends object
        ? { description: string; content: Record<string, { schema: object }> }
        : { description: string };
  } & (T['notModified'] extends true ? { 304: { description: string } } : {});
};

/**
 * Every error a route can answer, in catalog order: its own plus those its
 * middleware adds. Every POST (and a DELETE with a body) reads a JSON body (413, 415, invalid_json), and
 * any route can fail with 500 or, when storage is overloaded, 503.
 */
export function errorCodesOf(spec: Pick<RouteSpec, 'method' | 'token' | 'stepUp' | 'body' | 'query' | 'params' | 'errors'>): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors);
  if (spec.method === 'post' || spec.body) codes.add('invalid_json').add('payload_too_large').add('unsupported_media_type');
  if (spec.body || spec.query) codes.add('validation_failed');
  if (spec.token !== 'none') codes.add('unauthorized');
  if (spec.token === 'full') codes.add('mfa_required');
  if (spec.token === 'admin') codes.add('not_found').add('too_many_requests');
  if (spec.stepUp) codes.add('insufficient_user_authentication');
  codes.add('internal');
  return (Object.keys(ERRORS) as ErrorCode[]).filter((code) => codes.has(code));
}

const WWW_AUTHENTICATE = { description: '`Bearer`, with the RFC 6750 `error` parameter where one applies.', schema: { type: 'string' } } as const;
const RETRY_AFTER = { description: 'Seconds until the lock ends.', schema: { type: 'integer', minimum: 1 } } as const;

/** One response per status, the body a reference to the shared error schema, one example per code. */
function errorResponses(codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERRORS[code][0], [...(byStatus.get(ERRORS[code][0]) ?? []), code]);
  const responses: Record<string, object> = {};
  for (const [status, list] of byStatus) {
    const headers: Record<string, object> = {};
    // RFC 9110 §15.5.2: every 401 carries a challenge (errors.ts bearerChallenge).
    if (status === 401) headers['WWW-Authenticate'] = { ...WWW_AUTHENTICATE, required: true };
    if (list.includes('too_many_requests')) headers['Retry-After'] = { ...RETRY_AFTER, required: true };
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\``).join(', '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/json': {
          schema: { $ref: ERROR_SCHEMA_REF },
          examples: Object.fromEntries(list.map((code) => [code, { $ref: exampleRef(code) }])),
        },
      },
    };
  }
  return responses;
}

function middlewareOf(spec: RouteSpec): MiddlewareHandler<AppEnv>[] {
  const chain: MiddlewareHandler<AppEnv>[] = [...(spec.before ?? [])];
  // API.md, order of checks: a missing or dead token is 401 before a bad body is 400/413/415.
  if (spec.token === 'any' || spec.token === 'full') {
    chain.push(spec.session === 'flow' ? requireBearer : requireAuth(spec.token));
  }
  if (spec.token === 'admin') chain.push(requireAdmin);
  if (spec.stepUp) chain.push(requireStepUp);
  // DELETE /me has a body too (its password).
  if (spec.method === 'post' || spec.body) chain.push(jsonBody({ required: spec.body !== undefined && !spec.bodyOptional }));
  return chain;
}

function operationId(spec: RouteSpec): string {
  const words = spec.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return spec.method + (words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('') || 'Page');
}

export function declareRoute<const T extends RouteSpec>(spec: T): Declared<T> {
  const { success } = spec;
  const content: Record<string, object> = {};
  if (success.schema) content['application/json'] = { schema: success.schema };
  for (const [type, { type: schemaType }] of Object.entries(success.other ?? {})) content[type] = { schema: { type: schemaType } };
  const request: Record<string, unknown> = {};
  if (spec.body) request.body = { content: { 'application/json': { schema: spec.body } }, required: !spec.bodyOptional };
  if (spec.query) request.query = spec.query;
  if (spec.params) request.params = spec.params;
  const config = {
    method: spec.method,
    path: spec.path,
    operationId: operationId(spec),
    tags: [spec.tag],
    summary: spec.summary,
    description: spec.description,
    security: securityOf(spec.token),
    middleware: middlewareOf(spec),
    request,
    responses: {
      [String(success.status)]: {
        description: success.description,
        ...(success.headers ? { headers: success.headers } : {}),
        ...(Object.keys(content).length > 0 ? { content } : {}),
      },
      ...(spec.notModified ? { 304: { description: 'Not modified: the `If-None-Match` validator matches; no body.' } } : {}),
      ...errorResponses(errorCodesOf(spec)),
    },
  };
  return createRoute(config as unknown as Declared<T> & Parameters<typeof createRoute>[0]) as Declared<T>;
}

/**
 * A group of declared routes. A body, query or path parameter its schema
 * refuses is 400 validation_failed with the issues, field by field.
 */
export function routeGroup() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: async (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
      await ensureSessionBeforeBodyError(c, new ApiError('validation_failed', { issues }));
    },
  });
}
