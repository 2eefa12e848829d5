import { describe, expect, it } from 'vitest';
import { foldForComparison } from '../../src/core/identity';
import { markShard, shardDigitOf, shardedId, shardOfId, shardOfResetToken } from '../../src/db/shard-ids';
import { fnv1a32, shardForUsernameKey } from '../../src/db/shards';

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('the shard of a username (pinned: changing the hash would move every existing user)', () => {
  it('is FNV-1a 32-bit over the UTF-8 bytes (the published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Multi-byte UTF-8, not UTF-16 code units.
    expect(fnv1a32('émile')).toBe(0x764eb5cc);
    expect(fnv1a32('用户')).toBe(0x1be4cbb9);
  });

  it('is the hash of the case-folded key mod SHARD_COUNT', () => {
    const cases: [string, number, number][] = [
      ['alice', 2, 1], ['alice', 3, 2], ['alice', 4, 3], ['alice', 16, 7],
      ['bob', 4, 0], ['carol', 4, 2], ['strasse', 16, 4], ['用户', 16, 9],
    ];
    for (const [key, count, shard] of cases) expect(shardForUsernameKey(key, count), `${key} mod ${count}`).toBe(shard);
    for (let count = 1; count <= 16; count++) expect(shardForUsernameKey('alice', count)).toBe(0x872213e7 % count);
  });

  it('puts Alice, ALICE and fullwidth Ａｌｉｃｅ (and straße, STRASSE) on one shard: they share one key', () => {
    for (const count of [2, 3, 4, 8, 16]) {
      const shards = ['Alice', 'ALICE', 'Ａｌｉｃｅ', 'alice'].map((name) => shardForUsernameKey(foldForComparison(name), count));
      expect(new Set(shards).size).toBe(1);
      expect(shardForUsernameKey(foldForComparison('straße'), count)).toBe(shardForUsernameKey(foldForComparison('STRASSE'), count));
    }
  });
});

describe('ids that carry their shard', () => {
  it('a new id is a version 4 UUID whose first hex digit is its shard', () => {
    for (let shard = 0; shard < 16; shard++) {
      const id = shardedId(shard);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(shardDigitOf(id)).toBe(shard);
      expect(shardOfId(id, 16)).toBe(shard);
    }
    expect(new Set(Array.from({ length: 100 }, () => shardedId(3))).size).toBe(100);
    expect(() => shardedId(16)).toThrow(RangeError);
  });

  it('an id naming a shard that does not exist, or not shaped like ours, routes nowhere', () => {
    const onShard5 = shardedId(5);
    expect(shardOfId(onShard5, 4)).toBeNull();
    expect(shardOfId(onShard5, 6)).toBe(5);
    for (const bad of ['', 'nope', onShard5.toUpperCase(), `${onShard5}x`, 'g' + onShard5.slice(1), '../' + onShard5]) expect(shardOfId(bad, 4)).toBeNull();
  });

  it('with one shard every id routes to it (ids made before sharding keep working)', () => {
    for (const id of ['f0000000-0000-4000-8000-000000000000', 'nope', '']) expect(shardOfId(id, 1)).toBe(0);
    expect(shardOfResetToken('anything', 1)).toBe(0);
  });

  it('a reset token keeps 43 base64url characters and carries its shard in its first character', () => {
    for (let shard = 0; shard < 16; shard++) {
      const token = base64url(markShard(crypto.getRandomValues(new Uint8Array(32)), shard));
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(shardOfResetToken(token, 16)).toBe(shard);
      // With one shard everything routes to it; with fewer shards than the one it names, nowhere.
      if (shard >= 2) expect(shardOfResetToken(token, shard)).toBeNull();
    }
    expect(shardOfResetToken('x'.repeat(42), 4)).toBeNull();
    expect(shardOfResetToken('*' + 'A'.repeat(42), 4)).toBeNull();
  });
});
