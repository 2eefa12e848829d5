import { SELF } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import committed from '../../client/edge-mfa-client.ts?raw';
import { EdgeMfaClient } from '../../client/edge-mfa-client';
import { signIn } from '../../client/example';
import { generateClient } from '../../scripts/client-generator.mjs';
import { app } from '../../src/index';
import { buildOpenApiDocument } from '../../src/http/openapi/document';
import { BASE, enrolledUser, PASSWORD, setNow, totpAt, useRealTime } from '../helpers';

/**
 * Issue 23: the README's typed-client example did not work as written
 * (`edge-mfa` is no package, its source gave 44 type errors in a consumer's
 * project, and it called /me with a password-only token). What a consumer
 * gets now is client/edge-mfa-client.ts, generated from /openapi.json and
 * committed; client/example.ts signs in as the docs show. Here: the file is
 * what the declarations produce today, and the example really signs in
 * against the Worker. (The type check in a default strict project is
 * `node scripts/generate-client.mjs --check`, part of `npm test`.)
 */
afterEach(useRealTime);

const T0 = 1_800_000_000 + 5;

function client(): EdgeMfaClient {
  return new EdgeMfaClient({ baseUrl: BASE, fetch: (input, init) => SELF.fetch(input, init) });
}

describe('client/edge-mfa-client.ts', () => {
  it('is up to date with the route declarations (else run node scripts/generate-client.mjs)', () => {
    expect(committed).toBe(generateClient(buildOpenApiDocument(app)));
  });

  it('lists every operation of /openapi.json with the token it needs', () => {
    const document = buildOpenApiDocument(app) as unknown as { paths: Record<string, Record<string, unknown>> };
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) expect(committed, `${method} ${path}`).toContain(`"${method.toUpperCase()} ${path}": {`);
    }
  });
});

describe('client/example.ts against the Worker', () => {
  it('signs in with the password and a TOTP code, then reads /me with the full token', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 30);
    const api = client();
    const signedIn = await signIn(api, user.username, PASSWORD, () => totpAt(user.secret, T0 + 30));
    expect(signedIn.profile).toMatchObject({ id: user.id, username: user.username, mfaEnabled: true, methods: ['otp'] });
    expect(signedIn.refreshToken).toEqual(expect.any(String));
    expect(signedIn.expiresIn).toBeGreaterThan(0);
  });

  it('a wrong password or code fails with the API’s code, never a thrown HTTP error inside the client', async () => {
    const user = await enrolledUser(T0 + 300);
    setNow(T0 + 330);
    await expect(signIn(client(), user.username, 'not the password', () => '000000')).rejects.toThrow(/^login: invalid_credentials: /);
    await expect(signIn(client(), user.username, PASSWORD, () => '000000')).rejects.toThrow(/^otp-verify: invalid_code: /);
  });

  it('why the example needs the full token: /me with the password-only one is 403 mfa_required', async () => {
    const user = await enrolledUser(T0 + 600);
    setNow(T0 + 630);
    const api = client();
    const login = await api.request('POST /login', { body: { username: user.username, password: PASSWORD } });
    if (!login.ok) throw new Error(login.error.message);
    api.token = login.data.token;
    const me = await api.request('GET /me');
    expect(me).toMatchObject({ ok: false, status: 403, error: { error: 'mfa_required' } });
    // And a 401 carries its challenge for the client to read.
    api.token = 'not-a-token';
    expect(await api.request('GET /me')).toMatchObject({ ok: false, status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
  });

  it('path and query parameters: DELETE /sessions/{id} and GET /me/security-events?limit=', async () => {
    const user = await enrolledUser(T0 + 900);
    setNow(T0 + 930);
    const api = client();
    await signIn(api, user.username, PASSWORD, () => totpAt(user.secret, T0 + 930));
    const events = await api.request('GET /me/security-events', { query: { limit: '1' } });
    if (!events.ok) throw new Error(events.error.message);
    expect(events.data.events).toHaveLength(1);
    const gone = await api.request('DELETE /sessions/{id}', { params: { id: 'no-such-session' } });
    expect(gone).toMatchObject({ ok: false, status: 404, error: { error: 'not_found' } });
  });
});
