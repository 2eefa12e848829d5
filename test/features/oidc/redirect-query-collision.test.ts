import { describe, expect, it } from 'vitest';
import { admin, registerClient, send } from './support';
import { authorization, callback, workerEnv } from './conformance-support';

/**
 * Redirect-URI query collision. A registered query is kept byte for byte and
 * the response's `code` or `error`, `state` and `iss` are appended after it
 * (RFC 6749 §3.1.2). A registered query that already names one of those
 * would send it twice (RFC 6749 §3.1: a parameter MUST NOT be included more
 * than once), the registered value first: a client that reads the first
 * value takes a fixed `state`, a fixed `code`, or an `iss` of the
 * registration's choosing (RFC 9207's mix-up defense read from it; before the
 * byte-for-byte change, ours replaced a registered `iss`, now it follows
 * it). So such a redirect URI is refused at registration, whatever the
 * spelling of the name (a percent-encoded one decodes to the same).
 */

const ISS_FIRST = 'https://rp.example/cb?iss=https%3A%2F%2Fevil.example';

describe('a registered redirect URI whose query names a response parameter', () => {
  it('is refused at registration (create and update): validation_failed', async () => {
    for (const uri of [
      ISS_FIRST,
      'https://rp.example/cb?state=fixed',
      'https://rp.example/cb?code=planted',
      'https://rp.example/cb?a=1&error=access_denied',
      'https://rp.example/cb?error_description=x',
      'https://rp.example/cb?error_uri=https://evil.example/',
      'https://rp.example/cb?%69ss=https://evil.example',
      'https://rp.example/cb?code',
    ]) {
      const created = await admin(workerEnv, '/admin/clients', { json: { name: 'Collide', redirectUris: [uri], type: 'confidential' } });
      expect(created.status, uri).toBe(400);
      expect(created.json.error, uri).toBe('validation_failed');
    }
    // Not a URI at all: still the validation error (the query check never parses what is no URI).
    const garbage = await admin(workerEnv, '/admin/clients', { json: { name: 'Collide', redirectUris: ['not a uri'], type: 'confidential' } });
    expect([garbage.status, garbage.json.error]).toEqual([400, 'validation_failed']);
    const client = await registerClient(workerEnv);
    const patched = await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { redirectUris: [ISS_FIRST] } });
    expect(patched.status).toBe(400);
    expect(patched.json.error).toBe('validation_failed');
  });

  it('a query of other names (even ones that start alike) is registered and kept, our iss the only one', async () => {
    const uri = 'https://rp.example/cb?codex=1&issuer=a&states=b';
    const client = await registerClient(workerEnv, { redirectUris: [uri] });
    const request = await authorization(client, { redirect_uri: uri, code_challenge: 'short' });
    const answer = await send(workerEnv, request.path);
    expect(answer.location!.startsWith(`${uri}&error=invalid_request&`)).toBe(true);
    const params = new URL(answer.location!).searchParams;
    expect(params.getAll('iss')).toHaveLength(1);
    expect(params.getAll('state')).toEqual([request.params.state]);
    callback(answer, uri);
  });
});
