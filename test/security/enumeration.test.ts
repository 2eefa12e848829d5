import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from '../../src/index';
import { dummyHash, PRODUCTION_PARAMS, scryptWork, type ScryptParams } from '../../src/crypto/password';
import { getSettings } from '../../src/settings';
import { atProductionHashCost, call, callOn, productionCostEnv, registerUser, setNow, uniqueName, useRealTime } from '../helpers';
import { T0 } from './support';

afterEach(useRealTime);
// Registrations and logins here hash at the production cost, as a deployment does.
atProductionHashCost();

/**
 * The app imported into this test's module graph, so that `scryptWork` here is
 * the counter the login flow increments (SELF runs its own copy of the modules).
 */
async function loginDirect(username: string, password: string, workerEnv: Env = productionCostEnv): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request('https://mfa.test/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }),
    workerEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** Headers that differ between any two responses for reasons unrelated to the account. */
const NONDETERMINISTIC = new Set(['date', 'cf-ray']);

function comparableHeaders(headers: Headers): [string, string][] {
  return [...headers.entries()].filter(([name]) => !NONDETERMINISTIC.has(name.toLowerCase())).sort();
}

/**
 * Username enumeration: if "no such user" answers differently, or faster
 * because no password hash is computed, an attacker learns which accounts
 * exist and aims the guessing at them.
 */
describe('login does not reveal whether a username exists', () => {
  it('unknown user and wrong password: same status, body and headers', async () => {
    setNow(T0);
    const user = await registerUser();
    const wrongPassword = await call('/login', { json: { username: user.username, password: 'not the right one' } });
    const unknownUser = await call('/login', { json: { username: uniqueName('nobody'), password: 'not the right one' } });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(unknownUser.text).toBe(wrongPassword.text);
    expect(JSON.parse(unknownUser.text)).toEqual({ error: 'invalid_credentials', message: expect.any(String) });
    expect(comparableHeaders(unknownUser.headers)).toEqual(comparableHeaders(wrongPassword.headers));
  });

  it('spends the same scrypt work, at the current parameters, for an unknown user as for a wrong password', async () => {
    setNow(T0 + 100);
    const user = await registerUser();
    // The dummy hash records the configured parameters, so it costs what a real hash costs.
    const DUMMY_HASH = dummyHash((await getSettings(productionCostEnv)).passwordHashCost);
    expect(DUMMY_HASH).toMatch(new RegExp(`^\\$scrypt\\$ln=${PRODUCTION_PARAMS.logN},r=${PRODUCTION_PARAMS.r},p=${PRODUCTION_PARAMS.p}\\$`));

    const before = scryptWork.derivations;
    scryptWork.lastParams = null;
    expect((await loginDirect(user.username, 'not the right one')).status).toBe(401);
    expect(scryptWork.derivations - before).toBe(1);
    expect(scryptWork.lastParams).toEqual(PRODUCTION_PARAMS);

    scryptWork.lastParams = null;
    expect((await loginDirect(uniqueName('nobody'), 'not the right one')).status).toBe(401);
    // One full derivation at today's cost, exactly as for the known user.
    expect(scryptWork.derivations - before).toBe(2);
    expect(scryptWork.lastParams).toEqual(PRODUCTION_PARAMS);
  });

  it('the dummy follows the configured cost: at the pool\'s lowered cost, both paths spend one derivation at that cost', async () => {
    setNow(T0 + 200);
    const lowered = (await getSettings(env)).passwordHashCost;
    expect(lowered).not.toEqual(PRODUCTION_PARAMS);
    const username = uniqueName('pooled');
    const registered = await callOn(env, '/register', { json: { username, password: 'a long enough passphrase 7' } });
    expect(registered.status).toBe(201);
    const seen: (ScryptParams | null)[] = [];
    for (const name of [username, uniqueName('nobody')]) {
      scryptWork.lastParams = null;
      const before = scryptWork.derivations;
      expect((await loginDirect(name, 'not the right one', env)).status).toBe(401);
      expect(scryptWork.derivations - before).toBe(1);
      seen.push(scryptWork.lastParams);
    }
    expect(seen).toEqual([lowered, lowered]);
  });
});
