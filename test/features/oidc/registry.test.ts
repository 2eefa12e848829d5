import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, authorizePath, basic, Browser, enrolled, exchangeCode, opEnv, pkce, REDIRECT, registerClient, send, signIn, T0, tokenRequest } from './support';

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

  it('a back-channel logout URI is where the provider itself POSTs: https on a DNS name only; a loopback host only in a local run', async () => {
    // Attack story (SSRF): the back-channel URI accepted any https host or loopback, so a
    // mistyped or malicious registration (a cloud metadata address, a service on the Worker's
    // own host, credentials in the URI) turned every sign-out into a POST of our choosing to a
    // place no client lives. The provider now refuses those, in production and in a PATCH.
    const created = await admin(workerEnv, '/admin/clients', { json: { name: 'bcl', redirectUris: [REDIRECT], type: 'confidential', backchannelLogoutUri: 'https://rp.example/bcl' } });
    expect(created.status).toBe(201);
    const id = created.json.clientId as string;
    const stored = await env.DB.prepare('SELECT * FROM oidc_clients WHERE id = ?').bind(id).first();
    const bad = [
      'http://rp.example/bcl',
      'https://169.254.169.254/latest',
      'https://10.0.0.7/bcl',
      'https://[fd00::1]/bcl',
      'https://u:p@rp.example/bcl',
      'https://rp.example/bcl#x',
      'https://RP.example/bcl',
      'http://localhost:9301/bcl',
      'https://localhost/bcl',
      'http://127.0.0.1:9301/bcl',
      'http://[::1]:9301/bcl',
      'https://app.localhost/bcl',
      'ftp://rp.example/bcl',
    ];
    for (const backchannelLogoutUri of bad) {
      const r = await admin(workerEnv, '/admin/clients', { json: { name: 'x', redirectUris: [REDIRECT], type: 'public', backchannelLogoutUri } });
      expect(r.status, backchannelLogoutUri).toBe(400);
      expect(r.json.error).toBe('validation_failed');
      const patched = await admin(workerEnv, `/admin/clients/${id}`, { method: 'PATCH', json: { backchannelLogoutUri } } as never);
      expect(patched.status, backchannelLogoutUri).toBe(400);
    }
    expect(await env.DB.prepare('SELECT * FROM oidc_clients WHERE id = ?').bind(id).first()).toEqual(stored);
    // A local run (npm run dev, the browser tests) may use a receiver on localhost, http included; still no other IP.
    const local = opEnv({ ENVIRONMENT: 'development' });
    for (const uri of ['http://localhost:9301/bcl', 'http://127.0.0.1:9301/bcl', 'http://[::1]:9301/bcl', 'https://rp.example/bcl']) {
      const r = await admin(local, '/admin/clients', { json: { name: 'dev', redirectUris: [REDIRECT], type: 'public', backchannelLogoutUri: uri } });
      expect(r.status, uri).toBe(201);
      expect(r.json.backchannelLogoutUri).toBe(uri);
    }
    for (const uri of ['http://rp.example/bcl', 'https://10.0.0.7/bcl', 'http://u:p@localhost:9301/bcl']) {
      expect((await admin(local, '/admin/clients', { json: { name: 'dev', redirectUris: [REDIRECT], type: 'public', backchannelLogoutUri: uri } })).status, uri).toBe(400);
    }
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
    const tokens = await exchangeCode(workerEnv, client, verifier, answer.location);
    expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } })).status).toBe(200);
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${tokens.json.access_token}` } })).status).toBe(401);
    expect((await admin(workerEnv, `/admin/clients/${client.clientId}`, { method: 'DELETE' })).status).toBe(404);
    // The user's own JSON API session is untouched.
    expect((await send(workerEnv, '/me', { headers: { Authorization: `Bearer ${user.fullToken}` } })).status).toBe(200);
  });
});
