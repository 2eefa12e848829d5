import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import wranglerToml from '../../../wrangler.toml?raw';
import { PRODUCTION_PARAMS } from '../../../src/crypto/password';
import { ConfigError, getSettings } from '../../../src/settings';
import { productionCostEnv } from '../../helpers';

/** The quoted value of `name` in wrangler.toml's [vars] table, or null when it is not set there. */
function wranglerVar(name: string): string | null {
  const vars = /^\[vars\]$([\s\S]*?)(?=^\[)/m.exec(wranglerToml);
  if (!vars) throw new Error('wrangler.toml has no [vars] table');
  const line = new RegExp(`^${name}\\s*=\\s*"([^"]*)"\\s*$`, 'm').exec(vars[1]!);
  return line ? line[1]! : null;
}

const cost = async (vars: Record<string, unknown>) => (await getSettings({ ...productionCostEnv, ...vars } as Env)).passwordHashCost;

/**
 * What production deploys: wrangler.toml's SCRYPT_PARAMS is today's cost (N =
 * 2^14, r = 8, p = 5), the suite's production-cost tests read exactly that,
 * and nothing in wrangler.toml can lower it (the test-only override is never there).
 */
describe('the password hash cost wrangler.toml deploys', () => {
  it('[vars] SCRYPT_PARAMS is "ln=14,r=8,p=5", the production parameters, and the default when unset', async () => {
    expect(wranglerVar('SCRYPT_PARAMS')).toBe('ln=14,r=8,p=5');
    expect(PRODUCTION_PARAMS).toEqual({ logN: 14, r: 8, p: 5 });
    // The pool reads wrangler.toml; vitest.config.ts does not override SCRYPT_PARAMS.
    expect(productionCostEnv.SCRYPT_PARAMS).toBe(wranglerVar('SCRYPT_PARAMS'));
    expect((await getSettings(productionCostEnv)).passwordHashCost).toEqual(PRODUCTION_PARAMS);
    const { SCRYPT_PARAMS: _unset, ...unset } = productionCostEnv;
    expect((await getSettings(unset as Env)).passwordHashCost).toEqual(PRODUCTION_PARAMS);
  });

  it('no TEST_ONLY_ binding is set in wrangler.toml, and the pool\'s lowered cost comes only from one', async () => {
    const assignments = wranglerToml.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    expect(assignments.filter((line) => /TEST_ONLY_/.test(line))).toEqual([]);
    expect(env.TEST_ONLY_SCRYPT_PARAMS).toBe('ln=4,r=1,p=1');
    expect((await getSettings(env)).passwordHashCost).toEqual({ logN: 4, r: 1, p: 1 });
    expect('TEST_ONLY_SCRYPT_PARAMS' in productionCostEnv).toBe(false);
  });
});

/**
 * SCRYPT_PARAMS is read strictly, like every [vars] value, and has a floor: a
 * typo or a "let's make logins faster" edit that would store hashes a GPU
 * cracks at once fails loudly at the first request, by name.
 */
describe('SCRYPT_PARAMS', () => {
  const refused: [string, unknown][] = [
    ['not the notation', ''],
    ['not the notation', 'ln=14,r=8'],
    ['not the notation', 'ln=14, r=8, p=5'],
    ['not the notation', 'ln=014,r=8,p=5'],
    ['not the notation', 'N=16384,r=8,p=5'],
    ['not the notation', 'p=5,r=8,ln=14'],
    ['not a string', 14],
    ['less work (N * r * p)', 'ln=13,r=8,p=5'],
    ['less work (N * r * p)', 'ln=14,r=8,p=4'],
    ['less memory (N * r), the same work', 'ln=14,r=4,p=10'],
    ['far below', 'ln=4,r=1,p=1'],
    ['above 32 MiB per hash', 'ln=16,r=8,p=5'],
    ['above the bound on p', 'ln=14,r=8,p=17'],
  ];
  for (const [why, value] of refused) {
    it(`${JSON.stringify(value)} (${why}) is a ConfigError naming SCRYPT_PARAMS`, async () => {
      const loading = getSettings({ ...productionCostEnv, SCRYPT_PARAMS: value } as unknown as Env);
      await expect(loading).rejects.toThrow(ConfigError);
      await expect(loading).rejects.toThrow(/^SCRYPT_PARAMS /);
    });
  }

  it('accepts a higher cost, or N traded for p along OWASP\'s table without less memory or work', async () => {
    expect(await cost({ SCRYPT_PARAMS: 'ln=14,r=8,p=5' })).toEqual({ logN: 14, r: 8, p: 5 });
    expect(await cost({ SCRYPT_PARAMS: 'ln=14,r=8,p=6' })).toEqual({ logN: 14, r: 8, p: 6 });
    expect(await cost({ SCRYPT_PARAMS: 'ln=15,r=8,p=3' })).toEqual({ logN: 15, r: 8, p: 3 });
    expect(await cost({ SCRYPT_PARAMS: 'ln=14,r=16,p=3' })).toEqual({ logN: 14, r: 16, p: 3 });
  });
});

describe('TEST_ONLY_SCRYPT_PARAMS (the test pool\'s override)', () => {
  it('replaces SCRYPT_PARAMS with no floor', async () => {
    expect(await cost({ TEST_ONLY_SCRYPT_PARAMS: 'ln=4,r=1,p=1' })).toEqual({ logN: 4, r: 1, p: 1 });
    expect(await cost({ SCRYPT_PARAMS: 'ln=15,r=8,p=3', TEST_ONLY_SCRYPT_PARAMS: 'ln=10,r=8,p=1' })).toEqual({ logN: 10, r: 8, p: 1 });
  });

  it('is still strict about its notation and the bounds a stored hash must keep, naming itself', async () => {
    for (const value of ['ln=4', 'ln=0,r=1,p=1', 'ln=21,r=1,p=1', 'ln=16,r=8,p=1', '']) {
      await expect(getSettings({ ...productionCostEnv, TEST_ONLY_SCRYPT_PARAMS: value } as Env)).rejects.toThrow(/^TEST_ONLY_SCRYPT_PARAMS /);
    }
  });
});
