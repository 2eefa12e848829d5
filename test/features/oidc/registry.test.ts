import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, send, signIn, T0, tokenRequest } from './support';

afterEach(useRealTime);

const workerEnv = opEnv();

describe('the client registry (support API)', () => {
  it('shows a confidential client’s secret once and stores only its hash', async () => {
    setNow(T0);
    const created = await admin(workerEnv, '/admin/clients', { json: { name: 'Grafana', redirectUris: [REDIRECT], type: 'confidential' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Grafana', type: 'confidential', firstParty: false, idTokenSignedResponseAlg: 'RS256', redirectUris: [REDIRECT] });
    const secret = created.json.clientSecret as string;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    const id = created.json.clientId as string;
    const stored = await env.DB.prepare('SELECT * FROM oidc_clients WHERE id = ?').bind(id).first<Record<string, unknown>>();
    expect(JSON.stringify(stored)).not.toContain(secret);
    for (const path of ['/admin/clients', `/admin/clients/${id}`]) {
      const read = await admin(workerEnv, path);
      expect(read.status).toBe(200);
      expect(read.text).not.toContain(secret);
      expect(read.text).not.toMatch(/secret/i);
    }
  });

  it('validates fields: redirect URIs absolute, canonical, https (http on loopback), no fragment or userinfo', async () => {
    const bad = [
      { redirectUris: ['http://rp.example/cb'] },
      { redirectUris: ['https://rp.example/cb#x'] },
      { redirectUris: ['https://u:p@rp.example/cb'] },
      { redirectUris: ['/cb'] },
      { redirectUris: ['javascript:alert(1)'] },
      { redirectUris: ['https://RP.example/cb'] },
      { redirectUris: [] },
      { type: 'other' },
      { idTokenSignedResponseAlg: 'HS256' },
      { name: '' },
    ];
    for (const fields of bad) {
      const r = await admin(workerEnv, '/admin/clients', { json: { name: 'x', redirectUris: [REDIRECT], type: 'public', ...fields } });
      expect(r.status, JSON.stringify(fields)).toBe(400);
      expect(r.json.error).toBe('validation_failed');
    }
    const loopback = await admin(workerEnv, '/admin/clients', { json: { name: 'cli', redirectUris: ['http://127.0.0.1:8400/cb', 'http://localhost:3000/cb'], type: 'public' } });
    expect(loopback.status).toBe(201);
    expect(loopback.json.clientSecret).toBeUndefined();
  });

  it('PATCH changes fields but not the type; a new secret ends the old one; the admin token is required', async () => {
    setNow(T0);
    const client = await registerClient(workerEnv);
    const patched = await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'PATCH', json: { name: 'Renamed', firstParty: true, type: 'public' } } as never);
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ name: 'Renamed', firstParty: true, type: 'confidential' });
    const rotated = await admin(workerEnv, `/admin/clients/${client.clientId}/secret`, { method: 'POST' });
    expect(rotated.status).toBe(201);
    const form = { grant_type: 'refresh_token', refresh_token: 'x' };
    expect((await tokenRequest(workerEnv, form, basic(client))).json.error).toBe('invalid_client');
    expect((await tokenRequest(workerEnv, form, basic({ clientId: client.clientId, clientSecret: rotated.json.clientSecret as string }))).json.error).toBe('invalid_grant');
    expect((await send(workerEnv, '/admin/clients')).status).toBe(401);
    expect((await admin(workerEnv, '/admin/clients/c_nobody')).status).toBe(404);
  });

  it('DELETE ends the client’s grants: its tokens stop working at once', async () => {
    const user = await enrolled(workerEnv, T0, uniqueName('del'));
    const client = await registerClient(workerEnv, { firstParty: true });
    const { verifier, challenge } = await pkce();
    const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge), T0 + 30);
    const tokens = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(answer.location), redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
    expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } })).status).toBe(200);
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } })).status).toBe(401);
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(404);
    // The user's own JSON API session is untouched.
    expect((await send(workerEnv, '/me', { headers: { Authorization: `Bearer ${user.fullToken}` } })).status).toBe(200);
  });
});
