import { SHARD_COUNT_MAX } from '../settings/tunables';
import { shardBindingName, shardCountVar } from '../settings/env-vars';
import { getDb, type Db } from './client';

export { shardOfId, shardOfResetToken } from './shard-ids';

/**
 * D1 shards (issue 13). SHARD_COUNT databases: shard 0 is the `DB` binding
 * (also the home of shard-wide data: the signing keys), then `DB_SHARD_1` ...
 * An account lives on the shard its username key hashes to, and every id made
 * for it carries that shard (src/db/shard-ids.ts), so each request goes to one
 * database and every db.batch() stays on one shard. Case-insensitive
 * uniqueness stays a plain unique index: equal keys hash alike.
 *
 * The count is fixed for a deployment's life: the hash mod N decides where
 * existing users are, so changing N would move them (README, "Scaling: shards").
 *
 * Bindings are read from the env of each call, never kept in a module global:
 * a bench may hand the app an env whose bindings are wrappers.
 */

const counts = new WeakMap<Env, number>();

/** SHARD_COUNT, validated (with its bindings) once per env; a ConfigError names what is wrong. */
export function shardCount(env: Env): number {
  let count = counts.get(env);
  if (count === undefined) {
    count = shardCountVar(env, SHARD_COUNT_MAX);
    counts.set(env, count);
  }
  return count;
}

const encoder = new TextEncoder();

/** FNV-1a, 32 bits (offset basis 0x811c9dc5, prime 0x01000193), over the UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard of a (case-folded) username key: `Alice`, `ALICE` and `Ａｌｉｃｅ` share one key and so one shard. */
export function shardForUsernameKey(usernameKey: string, count: number): number {
  return fnv1a32(usernameKey) % count;
}

/** A shard's Db → the primary's, for the signing keys (signingKeysDb). */
const primaryOf = new WeakMap<Db, Db>();

function bindingOf(env: Env, shard: number): D1Database {
  return (env as unknown as Record<string, D1Database>)[shardBindingName(shard)]!;
}

/** The drizzle Db of `shard` (0 to SHARD_COUNT - 1; anything else is a bug of the caller, which routes first). */
export function shardDb(env: Env, shard: number): Db {
  const count = shardCount(env);
  if (!Number.isInteger(shard) || shard < 0 || shard >= count) throw new RangeError(`shard ${shard} is not 0 to ${count - 1}`);
  if (shard === 0) return primaryDb(env);
  // getDb keeps one wrapper per binding; this one remembers where its deployment's keys live.
  const db = getDb(bindingOf(env, shard));
  primaryOf.set(db, primaryDb(env));
  return db;
}

/** Shard 0, the `DB` binding: the signing keys, and the admin token's throttle. */
export function primaryDb(env: Env): Db {
  return getDb(env.DB);
}

/** Every shard, in order: the cleanup, the health check. */
export function allShardDbs(env: Env): Db[] {
  return Array.from({ length: shardCount(env) }, (_, shard) => shardDb(env, shard));
}

/** Where the signing keys of `db`'s deployment live: the primary (itself, for the primary or a lone Db). */
export function signingKeysDb(db: Db): Db {
  return primaryOf.get(db) ?? db;
}
