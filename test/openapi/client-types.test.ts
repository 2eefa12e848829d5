import { SELF } from 'cloudflare:test';
import { hc, type InferResponseType } from 'hono/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { App } from '../../src/index';
import { adminUserResponse, okResponse, resetTokenResponse, securityEventsResponse } from '../../src/http/openapi/responses';
import { BASE } from '../helpers';
import { ADMIN_TOKEN } from '../features/self-service/support';

const client = hc<App>(BASE, { fetch: ((input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init)) as typeof fetch });
type Client = typeof client;
type Output<T extends (...args: never[]) => unknown, S extends StatusCode> = InferResponseType<T, S>;

// Compile-time (tsc in npm test): each new handler answers exactly its documented schema.
expectTypeOf<Output<Client['password']['$post'], 200>>().toEqualTypeOf<z.output<typeof okResponse>>();
expectTypeOf<Output<Client['password']['reset']['$post'], 200>>().toEqualTypeOf<z.output<typeof okResponse>>();
expectTypeOf<Output<Client['me']['security-events']['$get'], 200>>().toEqualTypeOf<z.output<typeof securityEventsResponse>>();
expectTypeOf<Output<Client['admin']['users']['$get'], 200>>().toEqualTypeOf<z.output<typeof adminUserResponse>>();
expectTypeOf<Output<Client['admin']['users'][':id']['reset-mfa']['$post'], 200>>().toEqualTypeOf<z.output<typeof okResponse>>();
expectTypeOf<Output<Client['admin']['users'][':id']['unlock']['$post'], 200>>().toEqualTypeOf<z.output<typeof okResponse>>();
expectTypeOf<Output<Client['admin']['users'][':id']['password-reset']['$post'], 201>>().toEqualTypeOf<z.output<typeof resetTokenResponse>>();

describe('the typed client', () => {
  it('reaches the admin API and gets the documented 404 for an unknown username', async () => {
    const r = await client.admin.users.$get({ query: { username: 'nobody-at-all' } }, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(r.status).toBe(404);
  });
});
