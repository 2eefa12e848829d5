import { SELF } from 'cloudflare:test';
import { hc, type InferResponseType } from 'hono/client';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { StatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { app, type App } from '../../src/index';
import { buildOpenApiDocument } from '../../src/http/openapi/document';
import {
  createOtpResponse,
  disableOtpResponse,
  loginResponse,
  meResponse,
  okResponse,
  otpVerifyResponse,
  qrcodeResponse,
  recoveryCodesResponse,
  registerResponse,
} from '../../src/http/openapi/responses';
import { BASE, PASSWORD, setNow, totpAt, uniqueName, useRealTime } from '../helpers';
import { validateAgainst } from './oas';

afterEach(useRealTime);

/** The typed client a TypeScript consumer gets from `export type App`, here sent through the real Worker. */
const client = hc<App>(BASE, { fetch: ((input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init)) as typeof fetch });

type Client = typeof client;
type Output<T extends (...args: never[]) => unknown, S extends StatusCode> = InferResponseType<T, S>;

// Compile-time: each handler's `c.json(...)` has exactly the type of the
// response schema the OpenAPI document is built from (`npm test` runs tsc).
expectTypeOf<Output<Client['register']['$post'], 201>>().toEqualTypeOf<z.output<typeof registerResponse>>();
expectTypeOf<Output<Client['login']['$post'], 200>>().toEqualTypeOf<z.output<typeof loginResponse>>();
expectTypeOf<Output<Client['create-otp']['$post'], 201>>().toEqualTypeOf<z.output<typeof createOtpResponse>>();
// /qrcode is not listed: it can also answer the SVG itself, a plain Response
// that the client types as unknown; its JSON is checked at run time below.
expectTypeOf<Output<Client['otp-verify']['$post'], 200>>().toEqualTypeOf<z.output<typeof otpVerifyResponse>>();
expectTypeOf<Output<Client['me']['$get'], 200>>().toEqualTypeOf<z.output<typeof meResponse>>();
expectTypeOf<Output<Client['recovery-codes']['$post'], 201>>().toEqualTypeOf<z.output<typeof recoveryCodesResponse>>();
expectTypeOf<Output<Client['disable-otp']['$post'], 200>>().toEqualTypeOf<z.output<typeof disableOtpResponse>>();
expectTypeOf<Output<Client['health']['$get'], 200>>().toEqualTypeOf<z.output<typeof okResponse>>();

type Schemaish = Record<string, unknown>;
type Documented = { content?: Record<string, { schema: Schemaish; examples?: Record<string, unknown> }> };
const doc = buildOpenApiDocument(app) as unknown as {
  paths: Record<string, Record<string, { responses: Record<string, Documented> }>>;
  components: { schemas: Record<string, Schemaish> };
};

/** The one `$ref` the document uses in responses: the shared error schema. */
function resolve(schema: Schemaish): Schemaish {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = /^#\/components\/schemas\/(\w+)$/.exec(ref)?.[1];
  expect(name, ref).toBeDefined();
  return doc.components.schemas[name!]!;
}

/** Checks a real response against what the document says about that route and status. */
async function expectDocumented(method: string, path: string, response: Pick<Response, 'status' | 'text'>): Promise<unknown> {
  const documented = doc.paths[path]?.[method]?.responses[String(response.status)];
  expect(documented, `${method} ${path} ${response.status} is documented`).toBeDefined();
  const text = await response.text();
  if (response.status === 204) {
    expect(text).toBe('');
    return null;
  }
  const body: unknown = JSON.parse(text);
  const json = documented!.content?.['application/json'];
  expect(json?.schema, `${method} ${path} ${response.status} has a JSON schema`).toBeDefined();
  expect(validateAgainst(resolve(json!.schema), body), `${method} ${path} ${response.status}`).toEqual([]);
  // An error's code is one this route documents for that status.
  if (json!.examples) expect(Object.keys(json!.examples), `${method} ${path} ${response.status}`).toContain((body as { error: string }).error);
  return body;
}

const T0 = 1_900_000_000;

describe('the typed client (hc<App>) against the real Worker', () => {
  it('walks the whole enrollment, and every answer matches the document and the response schemas', async () => {
    setNow(T0 + 3);
    const username = uniqueName('typed');
    const registered = await client.register.$post({ json: { username, password: PASSWORD } });
    expect(registered.status).toBe(201);
    const user = registerResponse.parse(await expectDocumented('post', '/register', registered));
    expect(user.username).toBe(username);

    const loggedIn = await client.login.$post({ json: { username, password: PASSWORD } });
    const login = loginResponse.parse(await expectDocumented('post', '/login', loggedIn));
    expect(login.mfa).toBe('enroll');
    const pwd = { headers: { Authorization: `Bearer ${login.token}` } };

    // A password-only token is refused by a full-token route, as documented.
    const early = await client.me.$get({}, pwd);
    expect(early.status).toBe(403);
    expect(await expectDocumented('get', '/me', early)).toMatchObject({ error: 'mfa_required' });

    const created = await client['create-otp'].$post({}, pwd);
    const { secret } = createOtpResponse.parse(await expectDocumented('post', '/create-otp', created));

    const qr = await client.qrcode.$get({}, pwd);
    expect(qrcodeResponse.parse(await expectDocumented('get', '/qrcode', qr)).imageUrl).toMatch(/^data:image\/svg\+xml;base64,/);

    const wrong = await client['otp-verify'].$post({ json: { code: (await totpAt(secret, T0 - 3600)) } }, pwd);
    expect(wrong.status).toBe(401);
    expect(await expectDocumented('post', '/otp-verify', wrong)).toMatchObject({ error: 'invalid_code' });

    const malformed = await client['otp-verify'].$post({ json: { code: '12ab56' } }, pwd);
    expect(malformed.status).toBe(400);
    expect(await expectDocumented('post', '/otp-verify', malformed)).toMatchObject({ error: 'validation_failed' });

    const verified = await client['otp-verify'].$post({ json: { code: await totpAt(secret, T0 + 3) } }, pwd);
    const full = otpVerifyResponse.parse(await expectDocumented('post', '/otp-verify', verified));
    expect(full.recoveryCodes).toHaveLength(10);
    const auth = { headers: { Authorization: `Bearer ${full.token}` } };

    const me = await client.me.$get({}, auth);
    expect(meResponse.parse(await expectDocumented('get', '/me', me))).toMatchObject({ id: user.id, username, mfaEnabled: true, recoveryCodesRemaining: 10 });

    const codes = await client['recovery-codes'].$post({}, auth);
    expect(recoveryCodesResponse.parse(await expectDocumented('post', '/recovery-codes', codes)).recoveryCodes).toHaveLength(10);

    const noPending = await client.qrcode.$get({}, auth);
    expect(noPending.status).toBe(404);
    expect(await expectDocumented('get', '/qrcode', noPending)).toMatchObject({ error: 'no_pending_enrollment' });

    const out = await client.logout.$post({ json: {} }, auth);
    expect(out.status).toBe(204);
    await expectDocumented('post', '/logout', out);

    const revoked = await client.me.$get({}, auth);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    expect(await expectDocumented('get', '/me', revoked)).toMatchObject({ error: 'unauthorized' });

    const health = await client.health.$get();
    expect(okResponse.parse(await expectDocumented('get', '/health', health))).toEqual({ ok: true });
  });

  it('errors of the password routes match the document too', async () => {
    const username = uniqueName('typed');
    const weak = await client.register.$post({ json: { username, password: 'short' } });
    expect(await expectDocumented('post', '/register', weak)).toMatchObject({ error: 'weak_password' });
    const invalid = await client.register.$post({ json: { username: 'x', password: PASSWORD } });
    expect(await expectDocumented('post', '/register', invalid)).toMatchObject({ error: 'validation_failed', issues: [expect.objectContaining({ path: 'username' })] });
    await client.register.$post({ json: { username, password: PASSWORD } });
    const taken = await client.register.$post({ json: { username: username.toUpperCase(), password: PASSWORD } });
    expect(await expectDocumented('post', '/register', taken)).toMatchObject({ error: 'username_taken' });
    const wrong = await client.login.$post({ json: { username, password: `${PASSWORD}!` } });
    expect(await expectDocumented('post', '/login', wrong)).toMatchObject({ error: 'invalid_credentials' });
    const badJson = await SELF.fetch(`${BASE}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(await expectDocumented('post', '/login', badJson)).toMatchObject({ error: 'invalid_json' });
    const text = await SELF.fetch(`${BASE}/login`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(await expectDocumented('post', '/login', text)).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('a body the schema refuses fails the check (so the checks above can fail)', () => {
    const schema = doc.paths['/me']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(validateAgainst(schema, { id: 'x', username: 'y', mfaEnabled: true, recoveryCodesRemaining: 1, createdAt: 'z', extra: 1 })).not.toEqual([]);
    expect(validateAgainst(schema, { id: 'x', username: 'y', mfaEnabled: 'yes', recoveryCodesRemaining: 1, createdAt: 'z' })).not.toEqual([]);
  });
});
