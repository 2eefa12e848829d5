/**
 * Attack: spending the primary shard's write-serialized budget through the two
 * public routes outside the flood filter. GET /.well-known/jwks.json read D1 on
 * every request and GET /health read every shard: a loop of either cost D1 a
 * query per request. Now each isolate reads at most once every 5 s, and a
 * revoked key still leaves the JWKS within those 5 s.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import app from '../../../src/index';
import { BASE, enrolledUser, setNow, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_950_700_000;

/** env.DB that counts the statements sent to it; a fresh env object, so the isolate caches start empty. */
function countingEnv() {
  let statements = 0;
  const db = env.DB;
  const DB = new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (property === 'prepare' || property === 'batch' || property === 'exec') {
        return (...args: unknown[]) => {
          statements += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { env: { ...env, DB } as Env, statements: () => statements };
}

async function get(workerEnv: Env, path: string) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}${path}`), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as { keys?: { kid: string }[] } };
}

describe('the public routes outside the flood filter read D1 at most once per isolate every 5 s', () => {
  it('attack: a JWKS loop costs D1 one read per 5 s, not one per request', async () => {
    setNow(T0);
    const counting = countingEnv();
    const first = await get(counting.env, '/.well-known/jwks.json');
    expect(first.status).toBe(200);
    const afterFirst = counting.statements();
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) expect((await get(counting.env, '/.well-known/jwks.json')).status).toBe(200);
    expect(counting.statements()).toBe(afterFirst);
    vi.setSystemTime((T0 + 5) * 1000);
    await get(counting.env, '/.well-known/jwks.json');
    expect(counting.statements()).toBeGreaterThan(afterFirst);
  });

  it('an emergency revoke leaves the JWKS within 5 s', async () => {
    await enrolledUser(T0); // the first access token makes the first signing key
    const counting = countingEnv();
    const before = await get(counting.env, '/.well-known/jwks.json');
    const kid = before.body.keys![0]!.kid;
    await env.DB.prepare('UPDATE signing_keys SET revoked_at = ? WHERE kid = ?').bind(T0, kid).run();
    vi.setSystemTime(T0 * 1000 + 4_999);
    expect((await get(counting.env, '/.well-known/jwks.json')).body.keys!.map((k) => k.kid)).toContain(kid);
    vi.setSystemTime((T0 + 5) * 1000);
    expect((await get(counting.env, '/.well-known/jwks.json')).body.keys!.map((k) => k.kid)).not.toContain(kid);
  });

  it('attack: a /health loop costs each shard one read per 5 s', async () => {
    setNow(T0);
    const counting = countingEnv();
    expect((await get(counting.env, '/health')).status).toBe(200);
    const afterFirst = counting.statements();
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) expect((await get(counting.env, '/health')).status).toBe(200);
    expect(counting.statements()).toBe(afterFirst);
    vi.setSystemTime((T0 + 5) * 1000);
    await get(counting.env, '/health');
    expect(counting.statements()).toBeGreaterThan(afterFirst);
  });
});
