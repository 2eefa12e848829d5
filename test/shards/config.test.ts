import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { shardCount } from '../../src/db/shards';
import { ConfigError } from '../../src/settings/env-vars';
import { callOn, runCron, shardEnv, T0 } from './support';

afterEach(() => vi.restoreAllMocks());

/** What the app logged while `run` ran, as one string (ConfigError messages name the variable). */
async function logged(run: () => Promise<unknown>): Promise<string> {
  const lines: unknown[][] = [];
  const record = (...args: unknown[]) => void lines.push(args);
  vi.spyOn(console, 'error').mockImplementation(record);
  vi.spyOn(console, 'log').mockImplementation(record);
  vi.spyOn(console, 'warn').mockImplementation(record);
  await run();
  return JSON.stringify(lines);
}

describe('SHARD_COUNT', () => {
  it('unset is one shard, DB, with nothing else to configure', () => {
    expect(shardCount(env)).toBe(1);
    expect(shardCount({ ...env, DB_SHARD_1: undefined } as unknown as Env)).toBe(1);
    expect(shardCount(shardEnv(4))).toBe(4);
  });

  it('refuses anything but "1" to "16" in plain decimal digits, naming the variable', () => {
    for (const value of ['0', '17', '', ' 2', '2 ', '2.0', '+2', '0x2', '1e1', '02', 'two']) {
      expect(() => shardCount({ ...env, SHARD_COUNT: value }), JSON.stringify(value)).toThrow(ConfigError);
      expect(() => shardCount({ ...env, SHARD_COUNT: value })).toThrow(/SHARD_COUNT/);
    }
    expect(() => shardCount({ ...env, SHARD_COUNT: 4 } as unknown as Env)).toThrow(/SHARD_COUNT/);
  });

  it('a missing DB_SHARD_k binding fails loudly, naming it', () => {
    expect(() => shardCount({ ...env, SHARD_COUNT: '5' })).toThrow(/DB_SHARD_4 is missing/);
    expect(() => shardCount({ ...env, SHARD_COUNT: '4', DB_SHARD_2: undefined } as unknown as Env)).toThrow(/DB_SHARD_2 is missing/);
    // Something bound under the name that is not a D1 database counts as missing.
    expect(() => shardCount({ ...env, SHARD_COUNT: '2', DB_SHARD_1: 'oops' } as unknown as Env)).toThrow(/DB_SHARD_1/);
  });

  it('through the Worker: a request answers 500 internal (never the detail) and the log names the binding', async () => {
    const broken = { ...env, SHARD_COUNT: '4', DB_SHARD_3: undefined } as unknown as Env;
    let status = 0;
    let body = '';
    const log = await logged(async () => {
      const r = await callOn(broken, '/health');
      status = r.status;
      body = r.text;
    });
    expect(status).toBe(500);
    expect(JSON.parse(body)).toMatchObject({ error: 'internal' });
    expect(body).not.toContain('DB_SHARD_3');
    expect(log).toContain('DB_SHARD_3');
  });

  it('through the Cron Trigger: the run fails, naming the binding', async () => {
    const broken = { ...env, SHARD_COUNT: '3', DB_SHARD_2: undefined } as unknown as Env;
    let failure: unknown;
    await logged(() => runCron(broken, T0).catch((error: unknown) => (failure = error)));
    expect(failure).toBeInstanceOf(ConfigError);
    expect(String(failure)).toContain('DB_SHARD_2');
  });
});
