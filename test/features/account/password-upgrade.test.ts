import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { foldForComparison } from '../../../src/core/identity';
import { PRODUCTION_PARAMS, hashPassword, isWeakerThanCurrent, type ScryptParams } from '../../../src/crypto/password';
import { atProductionHashCost, call, PASSWORD, setNow, uniqueName, useRealTime } from '../../helpers';
import { T0, throttleRow } from '../totp/support';

afterEach(useRealTime);
// Upgrades are to the production cost (SCRYPT_PARAMS of wrangler.toml), not the pool's lowered one.
atProductionHashCost();

const CURRENT_PREFIX = '$scrypt$ln=14,r=8,p=5$';
const WEAK = { logN: 10, r: 8, p: 1 };

/** A user as an older release would have stored it: a hash at lower cost, written straight into D1. */
async function insertLegacyUser(password = PASSWORD, params: ScryptParams = WEAK) {
  const username = uniqueName('legacy');
  const id = crypto.randomUUID();
  const hash = await hashPassword(password, params);
  expect(hash.startsWith(`$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$`)).toBe(true);
  await env.DB.prepare('INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)')
    .bind(id, username, foldForComparison(username), hash, T0)
    .run();
  return { id, username, hash };
}

async function storedHash(id: string): Promise<string> {
  const row = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(id).first<{ password_hash: string }>();
  return row!.password_hash;
}

async function login(username: string, password: string) {
  return call<{ token: string; mfa: string }>('/login', { json: { username, password } });
}

describe('password hash upgrades at login', () => {
  it('a successful login re-hashes a weaker stored hash at today\'s parameters, and the password still works', async () => {
    setNow(T0 + 5);
    const user = await insertLegacyUser();

    const first = await login(user.username, PASSWORD);
    expect(first.status, first.text).toBe(200);
    expect(first.body.mfa).toBe('enroll');
    const upgraded = await storedHash(user.id);
    expect(upgraded.startsWith(CURRENT_PREFIX)).toBe(true);
    expect(upgraded).not.toBe(user.hash);
    expect(upgraded).not.toContain(PASSWORD);

    // The upgraded hash verifies the same password; a hash at today's cost is left alone.
    const second = await login(user.username, PASSWORD);
    expect(second.status).toBe(200);
    expect(await storedHash(user.id)).toBe(upgraded);
    // And still refuses a wrong one.
    expect((await login(user.username, `${PASSWORD}x`)).status).toBe(401);
  });

  it('a wrong password does not re-hash', async () => {
    setNow(T0 + 305);
    const user = await insertLegacyUser();
    const wrong = await login(user.username, 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'invalid_credentials' });
    expect(await storedHash(user.id)).toBe(user.hash);
    expect(await throttleRow(`pwd:${foldForComparison(user.username)}`)).toMatchObject({ failures: 1 });
    // The legacy hash still verifies the right password (and is upgraded then).
    expect((await login(user.username, PASSWORD)).status).toBe(200);
    expect((await storedHash(user.id)).startsWith(CURRENT_PREFIX)).toBe(true);
  });

  it('the upgrade keeps NFKC: a password typed in another normalization form still matches afterwards', async () => {
    setNow(T0 + 605);
    // "é" precomposed (NFC) versus "e" + combining acute (NFD): the same password to a person.
    const nfc = 'caf\u00e9 au lait 1';
    const nfd = 'cafe\u0301 au lait 1';
    const user = await insertLegacyUser(nfc);
    expect((await login(user.username, nfd)).status).toBe(200);
    expect((await storedHash(user.id)).startsWith(CURRENT_PREFIX)).toBe(true);
    expect((await login(user.username, nfc)).status).toBe(200);
  });
});

/**
 * Downgrade by login: a deployment that once raised the cost (or an operator
 * who lowered it later) must not see every stronger hash silently rewritten
 * at weaker parameters by the "upgrade". Only a hash weaker in some parameter
 * and stronger in none is re-hashed.
 */
describe('password hash upgrades only upgrade', () => {
  // ln=15 at r=8: 128 * 8 * 2^15 = 32 MiB, the most a stored hash may ask for.
  const STRONGER_N = { ...PRODUCTION_PARAMS, logN: PRODUCTION_PARAMS.logN + 1 };

  it('a hash at stronger parameters (higher N) is left as it is at a good login', async () => {
    setNow(T0 + 905);
    expect(128 * STRONGER_N.r * 2 ** STRONGER_N.logN).toBe(32 * 1024 * 1024);
    const user = await insertLegacyUser(PASSWORD, STRONGER_N);
    const r = await login(user.username, PASSWORD);
    expect(r.status, r.text).toBe(200);
    expect(await storedHash(user.id)).toBe(user.hash);
  });

  it('the rule: re-hash only when no parameter is stronger than today and one is weaker', () => {
    const { logN, r, p } = PRODUCTION_PARAMS;
    expect(isWeakerThanCurrent(PRODUCTION_PARAMS, PRODUCTION_PARAMS)).toBe(false);
    expect(isWeakerThanCurrent({ logN: logN - 1, r, p }, PRODUCTION_PARAMS)).toBe(true);
    expect(isWeakerThanCurrent({ logN, r: r - 1, p }, PRODUCTION_PARAMS)).toBe(true);
    expect(isWeakerThanCurrent({ logN, r, p: p - 1 }, PRODUCTION_PARAMS)).toBe(true);
    for (const stronger of [{ logN: logN + 1, r, p }, { logN, r: r + 1, p }, { logN, r, p: p + 1 }]) {
      expect(isWeakerThanCurrent(stronger, PRODUCTION_PARAMS)).toBe(false);
    }
    // Mixed: more memory but less parallel work; replacing it would lower N.
    expect(isWeakerThanCurrent({ logN: logN + 1, r, p: 1 }, PRODUCTION_PARAMS)).toBe(false);
  });
});
