import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { getDb } from '../../../src/db/client';
import { runCleanup } from '../../../src/scheduled/run';
import { booleanVar, issuerUrlVar } from '../../../src/settings/env-vars';
import { setNow, useRealTime } from '../../helpers';
import { authorizePath, basic, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, send, signIn, T0, tokenRequest } from './support';

afterEach(useRealTime);

describe('ISSUER_URL and OIDC_SIGNUP', () => {
  const read = (value: string | undefined) => issuerUrlVar({ ISSUER_URL: value } as unknown as Env, 'ISSUER_URL');

  it('takes an https URL as written, or http on a loopback host; unset or empty turns the provider off', () => {
    expect(read(undefined)).toBeNull();
    expect(read('')).toBeNull();
    for (const ok of ['https://auth.example.com', 'https://auth.example.com/op', 'http://localhost:8787', 'http://127.0.0.1:9000', 'http://[::1]:9000', 'https://auth.example.com:8443']) expect(read(ok)).toBe(ok);
  });

  it('refuses, naming the variable: http elsewhere, a trailing slash, query, fragment, userinfo, a non-canonical spelling', () => {
    for (const bad of ['http://auth.example.com', 'https://auth.example.com/', 'https://auth.example.com?x=1', 'https://auth.example.com#x', 'https://u@auth.example.com', 'https://AUTH.example.com', 'https://auth.example.com:443', 'auth.example.com', 'ftp://x']) {
      expect(() => read(bad), bad).toThrow(/ISSUER_URL/);
    }
    expect(() => booleanVar({ OIDC_SIGNUP: 'no' } as unknown as Env, 'OIDC_SIGNUP', true)).toThrow(/OIDC_SIGNUP/);
    expect(booleanVar({} as Env, 'OIDC_SIGNUP', true)).toBe(true);
  });

  it('a bad ISSUER_URL fails the first request loudly, never silently without the provider', async () => {
    const broken = { ...env, ISSUER_URL: 'http://auth.example.com' } as Env;
    const answer = await send(broken, '/health');
    expect(answer.status).toBe(500);
    expect(answer.text).not.toContain('auth.example.com');
  });
});

describe('the cleanup', () => {
  it('deletes a code an hour after it expired, and keeps it until then so a late reuse still revokes', async () => {
    const workerEnv = opEnv();
    const user = await enrolled(workerEnv, T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { verifier, challenge } = await pkce();
    const answer = await signIn(new Browser(workerEnv), user, authorizePath(client.clientId, challenge), T0 + 30);
    const code = codeOf(answer.location);
    setNow(T0 + 31);
    const first = await tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
    const db = getDb(env.DB);
    await runCleanup(db, T0 + 30 + 60 + 3599);
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM oidc_codes').first<{ n: number }>())!.n;
    expect(await count()).toBe(1);
    // A reuse 30 minutes later is still a reuse: the first exchange's tokens end.
    setNow(T0 + 1800);
    expect((await tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, basic(client))).json.error).toBe('invalid_grant');
    expect((await send(workerEnv, '/userinfo', { headers: { Authorization: `Bearer ${first.json.access_token}` } })).status).toBe(401);
    await runCleanup(db, T0 + 30 + 60 + 3600);
    expect(await count()).toBe(0);
  });
});
