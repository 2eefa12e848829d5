/**
 * Attack: making the JWKS hang for everyone by leaving early. The isolate's JWKS
 * cache (flood-caches.test.ts) kept the promise of the read in flight and handed
 * it to every request that came meanwhile. A request whose client disconnects is
 * cancelled by the Workers runtime, and with it the D1 read it started: the
 * promise never settles, every request awaiting it hangs until the runtime
 * cancels it too ("code had hung"), and the cache kept the dead promise for its
 * 5 s (a rejection would have dropped it; a promise that never settles is never
 * dropped). An attacker who opens a JWKS request and drops it each time the
 * cache expires keeps every verifier that fetches the keys from this isolate
 * without them. Only a settled answer is shared now; a request never awaits
 * another request's read (the hash gate's rule, src/crypto/hash-gate.ts).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import app from '../../../src/index';
import { BASE, enrolledUser, useRealTime } from '../../helpers';

afterEach(useRealTime);

/** A fresh env (an empty isolate cache) whose first D1 statement never answers: its request was cancelled. */
function firstReadNeverAnswers(): Env {
  let hung = false;
  const never = new Promise<never>(() => {});
  const stuck: unknown = new Proxy({}, { get: (_, property) => (property === 'bind' ? () => stuck : property === 'then' ? undefined : () => never) });
  const DB = new Proxy(env.DB, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (property === 'prepare' || property === 'batch') {
        return (...args: unknown[]) => {
          if (!hung) {
            hung = true;
            return property === 'prepare' ? stuck : never;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...env, DB } as Env;
}

async function get(workerEnv: Env) {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}/.well-known/jwks.json`), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as { keys: unknown[] } };
}

describe('the JWKS isolate cache shares only a settled answer', () => {
  it('attack: a JWKS request whose read never ends (its client left) no longer holds the next one', async () => {
    await enrolledUser(1_950_710_000); // its first access token makes the first signing key
    const workerEnv = firstReadNeverAnswers();
    void get(workerEnv); // the request that is cancelled mid-read: it never answers
    const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3_000));
    const next = await Promise.race([get(workerEnv), timeout]);
    expect(next).not.toBe('hung');
    expect(next).toMatchObject({ status: 200 });
    expect((next as { body: { keys: unknown[] } }).body.keys.length).toBeGreaterThan(0);
  });
});
