/**
 * Ids that carry their shard (issue 13), so a request routes to one D1
 * database without a lookup. The shard is the top four bits of the id's first
 * byte: for a UUID its first hex digit, for a base64url token the top four of
 * the six bits its first character encodes. A UUID stays a version 4 UUID (RFC
 * 9562 §5.4: the first digit is one of its random bits, now fixed), with 118
 * random bits left; a reset token keeps 252 of its 256.
 *
 * With one shard every id routes to it, whatever its first digit: ids made
 * before sharding (random first digits) keep working, and an unknown id is
 * answered by the database as before.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A reset token: 32 bytes, base64url without padding. */
const RESET_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function checkShard(shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard > 15) throw new RangeError(`shard ${shard} is not 0 to 15`);
}

/** A fresh random id (UUID v4 shape) on `shard`. */
export function shardedId(shard: number): string {
  checkShard(shard);
  return shard.toString(16) + crypto.randomUUID().slice(1);
}

/** The shard digit of an id, 0 for one that has none (made before sharding, or not ours). */
export function shardDigitOf(id: string): number {
  const digit = /^[0-9a-f]/.test(id) ? parseInt(id[0]!, 16) : 0;
  return digit;
}

/** A fresh id on the same shard as `ownerId` (a session of that user). */
export function idOnShardOf(ownerId: string): string {
  return shardedId(shardDigitOf(ownerId));
}

/** The shard an id routes to, or null: malformed, or naming a shard that does not exist. */
export function shardOfId(id: string, count: number): number | null {
  if (count === 1) return 0;
  if (!UUID.test(id)) return null;
  const shard = parseInt(id[0]!, 16);
  return shard < count ? shard : null;
}

/** Writes `shard` into the top four bits of `bytes[0]` (in place) and returns them. */
export function markShard(bytes: Uint8Array, shard: number): Uint8Array {
  checkShard(shard);
  bytes[0] = (shard << 4) | (bytes[0]! & 0x0f);
  return bytes;
}

/** The shard a reset token (base64url of bytes marked by markShard) routes to, or null. */
export function shardOfResetToken(token: string, count: number): number | null {
  if (count === 1) return 0;
  if (!RESET_TOKEN.test(token)) return null;
  // The first character holds the top six bits of byte 0; its top four are the shard.
  const shard = BASE64URL.indexOf(token[0]!) >> 2;
  return shard < count ? shard : null;
}
