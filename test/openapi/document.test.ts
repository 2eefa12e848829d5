import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../src/core/errors';
import { app } from '../../src/index';
import { buildOpenApiDocument } from '../../src/http/openapi/document';
import { call } from '../helpers';
import { validateOpenApi31 } from './oas';

interface Operation {
  security: Array<Record<string, string[]>>;
  requestBody?: { required: boolean; content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string }; examples?: Record<string, { $ref: string }> }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties: { error: { enum: string[] } } }>; examples: Record<string, { value: unknown }> };
}

async function servedDocument(): Promise<Document> {
  const response = await call<Document>('/openapi.json');
  expect(response.status).toBe(200);
  return response.body;
}

function operation(doc: Document, method: string, path: string): Operation {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method} ${path} is not documented`);
  return op;
}

/** The error codes an operation documents, each under its status: one example per code, the body the shared schema. */
function documentedErrors(op: Operation): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    const json = response.content?.['application/json'];
    if (!json?.examples) continue;
    expect(json.schema.$ref).toBe('#/components/schemas/Error');
    for (const [code, example] of Object.entries(json.examples)) expect(example.$ref).toBe(`#/components/examples/${code}`);
    out[status] = Object.keys(json.examples);
  }
  return out;
}

describe('GET /openapi.json', () => {
  it('serves the generated document as JSON, never cached', async () => {
    const response = await call('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(response.body).toEqual(buildOpenApiDocument(app));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await servedDocument();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(validateOpenApi31(doc)).toEqual([]);
  });

  it('the validator does refuse broken documents (so the check above can fail)', async () => {
    const doc = await servedDocument();
    const noInfo: Record<string, unknown> = { ...doc };
    delete noInfo.info;
    expect(validateOpenApi31(noInfo)).not.toEqual([]);
    const badResponses = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: unknown }>> };
    badResponses.paths['/me']!.get!.responses = { 200: { content: {} } }; // a response needs a description
    expect(validateOpenApi31(badResponses)).not.toEqual([]);
    const badSchema = structuredClone(doc);
    operation(badSchema, 'post', '/register').requestBody!.content['application/json']!.schema = 'a string' as never;
    expect(validateOpenApi31(badSchema)).not.toEqual([]);
  });

  it('documents exactly the routes the app serves', async () => {
    const doc = await servedDocument();
    // app.routes also lists the app-wide middleware, registered as ALL /*.
    // Hono serves `/users/:id`; the document names it `/users/{id}`.
    const served = app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThanOrEqual(12);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });

  it('gives each route the token level of API.md, as its bearer schemes', async () => {
    const doc = await servedDocument();
    for (const scheme of ['accessToken', 'passwordOnlyToken']) {
      expect(doc.components.securitySchemes[scheme]).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    }
    const levels: Array<[string, string, 'none' | 'any' | 'full']> = [
      ['post', '/register', 'none'],
      ['post', '/login', 'none'],
      ['post', '/create-otp', 'any'],
      ['get', '/qrcode', 'any'],
      ['post', '/otp-verify', 'any'],
      ['get', '/me', 'full'],
      ['post', '/recovery-codes', 'full'],
      ['post', '/disable-otp', 'full'],
      ['post', '/logout', 'any'],
      ['post', '/refresh', 'none'],
      ['post', '/reauthenticate', 'full'],
      ['get', '/sessions', 'full'],
      ['delete', '/sessions/{id}', 'full'],
      ['post', '/webauthn/register/options', 'any'],
      ['post', '/webauthn/login/verify', 'any'],
      ['get', '/webauthn/credentials', 'full'],
      ['delete', '/webauthn/credentials/{id}', 'full'],
      ['get', '/.well-known/jwks.json', 'none'],
      ['get', '/health', 'none'],
      ['get', '/openapi.json', 'none'],
      ['get', '/', 'none'],
    ];
    for (const [method, path, level] of levels) {
      // Alternatives are separate requirement objects (OpenAPI 3.1 §4.8.30); scopes are for OAuth2 only.
      const expected = { none: [], any: [{ accessToken: [] }, { passwordOnlyToken: [] }], full: [{ accessToken: [] }] }[level];
      expect(operation(doc, method, path).security, `${method} ${path}`).toEqual(expected);
    }
  });

  it('documents the request bodies from the validating schemas', async () => {
    const doc = await servedDocument();
    const body = (method: string, path: string) => operation(doc, method, path).requestBody;
    expect(body('post', '/register')).toMatchObject({ required: true });
    expect(body('post', '/register')!.content['application/json']!.schema.required?.sort()).toEqual(['password', 'username']);
    expect(Object.keys(body('post', '/login')!.content['application/json']!.schema.properties!).sort()).toEqual(['password', 'username']);
    expect(Object.keys(body('post', '/otp-verify')!.content['application/json']!.schema.properties!).sort()).toEqual(['code', 'recoveryCode', 'token']);
    expect(Object.keys(body('post', '/disable-otp')!.content['application/json']!.schema.properties!).sort()).toEqual(['code', 'password']);
    expect(body('post', '/logout')).toMatchObject({ required: false });
    for (const [method, path] of [['post', '/create-otp'], ['post', '/recovery-codes'], ['get', '/me'], ['get', '/qrcode']] as const) {
      expect(body(method, path), `${method} ${path}`).toBeUndefined();
    }
  });

  it('documents each success status and body of API.md', async () => {
    const doc = await servedDocument();
    const success: Array<[string, string, string, string[] | null]> = [
      ['post', '/register', '201', ['id', 'username']],
      ['post', '/login', '200', ['authorized', 'expiresIn', 'methods', 'mfa', 'token']],
      ['post', '/create-otp', '201', ['ok', 'secret', 'uri']],
      ['get', '/qrcode', '200', ['imageUrl', 'uri']],
      ['post', '/otp-verify', '200', ['authorized', 'expiresIn', 'recoveryCodes', 'refreshToken', 'token']],
      ['post', '/refresh', '200', ['authorized', 'expiresIn', 'refreshToken', 'token']],
      ['post', '/reauthenticate', '200', ['authorized', 'expiresIn', 'refreshToken', 'token']],
      ['get', '/sessions', '200', ['sessions']],
      ['delete', '/sessions/{id}', '204', null],
      ['get', '/.well-known/jwks.json', '200', ['keys']],
      ['get', '/me', '200', ['createdAt', 'id', 'methods', 'mfaEnabled', 'recoveryCodesRemaining', 'username']],
      ['post', '/webauthn/register/options', '200', ['challengeId', 'publicKey']],
      ['post', '/webauthn/register/verify', '201', ['authorized', 'credential', 'expiresIn', 'recoveryCodes', 'refreshToken', 'token']],
      ['post', '/webauthn/login/options', '200', ['challengeId', 'publicKey']],
      ['post', '/webauthn/login/verify', '200', ['authorized', 'expiresIn', 'refreshToken', 'token']],
      ['get', '/webauthn/credentials', '200', ['credentials']],
      ['delete', '/webauthn/credentials/{id}', '204', null],
      ['post', '/recovery-codes', '201', ['recoveryCodes']],
      ['post', '/disable-otp', '200', ['ok', 'recoveryCodesKept']],
      ['post', '/logout', '204', null],
      ['get', '/health', '200', ['ok']],
    ];
    for (const [method, path, status, fields] of success) {
      const response = operation(doc, method, path).responses[status];
      expect(response, `${method} ${path} ${status}`).toBeDefined();
      const schema = response!.content?.['application/json']?.schema as { properties?: object } | undefined;
      if (fields === null) expect(response!.content).toBeUndefined();
      else expect(Object.keys(schema?.properties ?? {}).sort(), `${method} ${path}`).toEqual(fields);
    }
    expect(Object.keys(operation(doc, 'get', '/qrcode').responses['200']!.content!)).toEqual(['application/json', 'image/svg+xml']);
  });

  it('documents every error of API.md under its status, for each route', async () => {
    const doc = await servedDocument();
    const body = ['invalid_json', 'payload_too_large', 'unsupported_media_type'] as const;
    // From API.md, route by route (the middleware's errors included).
    const expected: Array<[string, string, ErrorCode[]]> = [
      ['post', '/register', [...body, 'validation_failed', 'weak_password', 'username_taken', 'too_many_requests']],
      ['post', '/login', [...body, 'validation_failed', 'invalid_credentials', 'too_many_requests']],
      ['post', '/create-otp', [...body, 'unauthorized', 'mfa_already_enabled', 'insufficient_user_authentication']],
      ['get', '/qrcode', ['unauthorized', 'no_pending_enrollment']],
      ['post', '/otp-verify', [...body, 'validation_failed', 'unauthorized', 'invalid_code', 'mfa_not_enrolled', 'too_many_requests']],
      ['get', '/me', ['unauthorized', 'mfa_required']],
      ['post', '/recovery-codes', [...body, 'unauthorized', 'mfa_required', 'insufficient_user_authentication']],
      ['post', '/disable-otp', [...body, 'validation_failed', 'unauthorized', 'mfa_required', 'insufficient_user_authentication', 'invalid_code', 'too_many_requests']],
      ['post', '/logout', [...body, 'validation_failed', 'unauthorized', 'mfa_required']],
      ['post', '/refresh', [...body, 'validation_failed', 'invalid_refresh_token']],
      ['post', '/reauthenticate', [...body, 'validation_failed', 'unauthorized', 'mfa_required', 'invalid_code', 'too_many_requests']],
      ['get', '/sessions', ['unauthorized', 'mfa_required']],
      ['delete', '/sessions/{id}', ['unauthorized', 'mfa_required', 'not_found']],
      ['get', '/health', ['internal']],
    ];
    for (const [method, path, codes] of expected) {
      const op = operation(doc, method, path);
      const documented = documentedErrors(op);
      for (const code of [...codes, 'internal' as const]) {
        const status = String(ERRORS[code][0]);
        expect(documented[status], `${method} ${path}: ${code}`).toContain(code);
      }
      // Every documented code sits under its own status.
      for (const [status, list] of Object.entries(documented)) {
        for (const code of list) expect(String(ERRORS[code as ErrorCode][0]), `${method} ${path}: ${code}`).toBe(status);
      }
      if (documented['401']?.includes('unauthorized')) expect(op.responses['401']!.headers).toHaveProperty('WWW-Authenticate');
      if (documented['429']) expect(op.responses['429']!.headers).toHaveProperty('Retry-After');
    }
    // Routes without a token never document 401 unauthorized or 403 mfa_required.
    expect(documentedErrors(operation(doc, 'post', '/register'))['401']).toBeUndefined();
    expect(documentedErrors(operation(doc, 'get', '/health'))['403']).toBeUndefined();
  });

  it('declares the error body once, with every code of the catalog, and one example per code it references', async () => {
    const doc = await servedDocument();
    expect(doc.components.schemas.Error!.properties.error.enum).toEqual(Object.keys(ERRORS));
    const referenced = new Set(Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.values(documentedErrors(op)).flat())));
    expect(Object.keys(doc.components.examples).sort()).toEqual([...referenced].sort());
    for (const [code, example] of Object.entries(doc.components.examples)) {
      expect(example.value).toEqual({ error: code, message: ERRORS[code as ErrorCode][1] });
    }
    // Declared once: no response repeats the error schema (it did on every route, 47 KB for 12 routes, before).
    expect(JSON.stringify(doc).match(/"issues":/g)).toHaveLength(1);
    // And it stays small as routes are added: about 3 KB an operation (47 KB for 12 when the schema was repeated).
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length;
    expect(JSON.stringify(doc).length).toBeLessThan(3_000 * operations);
  });
});
