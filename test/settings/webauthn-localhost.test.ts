import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/index';
import { BASE } from '../helpers';

/**
 * Issue 23: wrangler.toml's [vars] say WEBAUTHN_RP_ID = "localhost" so that
 * `npm run dev` works at once, and `wrangler deploy` ships [vars] as written.
 * A deployed Worker with those settings offered passkeys that no browser on
 * the real site accepts, and said nothing. Now it fails every request, as a
 * missing secret does (500, and a log line naming the variables), unless
 * ENVIRONMENT = "development" marks the run as local (npm run dev, the
 * browser tests and the bench pass it).
 */
afterEach(() => {
  vi.restoreAllMocks();
});

const LOCAL = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: 'http://localhost:8787' };

async function fetchWith(changed: Record<string, string | undefined>, path = '/health') {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`), { ...env, ...changed } as Env, ctx);
  await waitOnExecutionContext(ctx);
  // The log lines are JSON (src/core/log.ts): their messages, as an operator reads them.
  const logged = errors.mock.calls.map((args) => (JSON.parse(String(args[0])) as { message: string }).message).join('\n');
  errors.mockRestore();
  return { status: response.status, text: await response.text(), logged };
}

describe('WebAuthn settings that name localhost', () => {
  it('a deployment (ENVIRONMENT unset) with the localhost settings of wrangler.toml: every request is 500, and the log says which variables and what to do', async () => {
    for (const path of ['/health', '/.well-known/jwks.json', '/']) {
      const r = await fetchWith(LOCAL, path);
      expect(r.status, path).toBe(500);
      expect(JSON.parse(r.text)).toEqual({ error: 'internal', message: expect.any(String) });
      expect(r.logged).toContain('WEBAUTHN_RP_ID is "localhost"');
      expect(r.logged).toContain('WEBAUTHN_ORIGINS');
      expect(r.logged).toContain('ENVIRONMENT = "development"');
    }
  });

  it('ENVIRONMENT = "production" is a deployment too; a subdomain of localhost counts as localhost', async () => {
    expect((await fetchWith({ ...LOCAL, ENVIRONMENT: 'production' })).status).toBe(500);
    expect((await fetchWith({ WEBAUTHN_RP_ID: 'app.localhost', WEBAUTHN_ORIGINS: 'http://app.localhost:8787' })).status).toBe(500);
  });

  it('a local run marked ENVIRONMENT = "development" works with localhost', async () => {
    const r = await fetchWith({ ...LOCAL, ENVIRONMENT: 'development' });
    expect(r.status, r.logged).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ ok: true });
  });

  it('a real domain works with or without ENVIRONMENT (the test pool runs as https://mfa.test, unmarked)', async () => {
    expect((await fetchWith({})).status).toBe(200);
    expect((await fetchWith({ ENVIRONMENT: 'development' })).status).toBe(200);
    expect((await fetchWith({ ENVIRONMENT: 'production' })).status).toBe(200);
  });

  it('a misspelt ENVIRONMENT fails loudly by name rather than being read as either', async () => {
    for (const value of ['dev', 'Development', 'staging', '']) {
      const r = await fetchWith({ ...LOCAL, ENVIRONMENT: value });
      expect(r.status, value).toBe(500);
      expect(r.logged).toContain('ENVIRONMENT must be');
    }
  });
});
