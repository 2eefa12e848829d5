import { env } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { basic, opEnv, registerClient, send, T0, type Client } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();
let client: Client;
let publicClient: Client;

beforeAll(async () => {
  setNow(T0);
  client = await registerClient(workerEnv);
  publicClient = await registerClient(workerEnv, { type: 'public', redirectUris: ['http://127.0.0.1:9000/cb'] });
  useRealTime();
});

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

async function rows(): Promise<string> {
  const tables = ['sessions', 'oidc_codes', 'oidc_grants', 'oidc_consents', 'security_events'];
  return JSON.stringify(await Promise.all(tables.map((table) => env.DB.prepare(`SELECT * FROM ${table}`).all().then((r) => r.results))));
}

describe('every malformed request to /token: an RFC 6749 §5.2 error, never a 5xx, nothing stored', () => {
  it('answers each with the right error and status', async () => {
    const auth = basic(client);
    const cases: [string, RequestInit, number, string][] = [
      ['JSON instead of a form', { body: '{"grant_type":"authorization_code"}', headers: { 'Content-Type': 'application/json', Authorization: auth } }, 400, 'invalid_request'],
      ['no body', { headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['no grant_type', { body: 'code=x', headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['unknown grant_type', { body: 'grant_type=password&username=a&password=b', headers: { ...FORM, Authorization: auth } }, 400, 'unsupported_grant_type'],
      ['client_credentials', { body: 'grant_type=client_credentials', headers: { ...FORM, Authorization: auth } }, 400, 'unsupported_grant_type'],
      ['grant_type twice', { body: 'grant_type=authorization_code&grant_type=refresh_token', headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['no code', { body: 'grant_type=authorization_code&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=' + 'a'.repeat(43), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['no redirect_uri', { body: 'grant_type=authorization_code&code=abc&code_verifier=' + 'a'.repeat(43), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['no code_verifier', { body: 'grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp.example%2Fcb', headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['unknown code', { body: 'grant_type=authorization_code&code=' + 'A'.repeat(43) + '&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=' + 'a'.repeat(43), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_grant'],
      ['a code of garbage', { body: 'grant_type=authorization_code&code=%00%FF%FE&redirect_uri=x&code_verifier=' + 'a'.repeat(43), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_grant'],
      ['no refresh_token', { body: 'grant_type=refresh_token', headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['a refresh token of garbage', { body: 'grant_type=refresh_token&refresh_token=rt1.x.y.z', headers: { ...FORM, Authorization: auth } }, 400, 'invalid_grant'],
      ['a JSON API refresh token', { body: 'grant_type=refresh_token&refresh_token=rt1.00000000-0000-4000-8000-000000000000.0.' + 'A'.repeat(43), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_grant'],
      ['no client at all', { body: 'grant_type=authorization_code&code=x', headers: FORM }, 401, 'invalid_client'],
      ['an unknown client', { body: 'grant_type=authorization_code&client_id=c_nobody&client_secret=s', headers: FORM }, 401, 'invalid_client'],
      ['a wrong secret by post', { body: `grant_type=authorization_code&client_id=${client.clientId}&client_secret=wrong`, headers: FORM }, 401, 'invalid_client'],
      ['a confidential client without its secret', { body: `grant_type=authorization_code&client_id=${client.clientId}`, headers: FORM }, 401, 'invalid_client'],
      ['a public client sending a secret', { body: `grant_type=authorization_code&client_id=${publicClient.clientId}&client_secret=x`, headers: FORM }, 401, 'invalid_client'],
      ['two authentication methods', { body: `grant_type=authorization_code&client_secret=${client.clientSecret}`, headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
      ['Basic of garbage', { body: 'grant_type=authorization_code', headers: { ...FORM, Authorization: 'Basic !!!' } }, 401, 'invalid_client'],
      ['Basic without a colon', { body: 'grant_type=authorization_code', headers: { ...FORM, Authorization: 'Basic ' + btoa('nocolon') } }, 401, 'invalid_client'],
      ['Basic with a bad percent-encoding', { body: 'grant_type=authorization_code', headers: { ...FORM, Authorization: 'Basic ' + btoa('%zz:%zz') } }, 401, 'invalid_client'],
      ['a body over 16 KiB', { body: 'grant_type=authorization_code&x=' + 'a'.repeat(17_000), headers: { ...FORM, Authorization: auth } }, 400, 'invalid_request'],
    ];
    const before = await rows();
    for (const [story, init, status, error] of cases) {
      setNow(T0 + 10);
      const answer = await send(workerEnv, '/token', { method: 'POST', ...init });
      expect(answer.status, story).toBe(status);
      expect(answer.json, story).toMatchObject({ error });
      expect(typeof answer.json.error_description, story).toBe('string');
      expect(answer.headers.get('Cache-Control'), story).toBe('no-store');
      const basicUsed = /^Basic/.test(String((init.headers as Record<string, string>).Authorization ?? ''));
      if (status === 401) expect(answer.headers.get('WWW-Authenticate'), story).toBe(basicUsed ? 'Basic realm="token", charset="UTF-8"' : null);
    }
    expect(await rows()).toBe(before);
  });

  it('GET /token is 404, as every unknown method', async () => {
    expect((await send(workerEnv, '/token')).status).toBe(404);
  });
});
