import type { Context } from 'hono';
import { foldForComparison } from '../../core/identity';
import type { Db } from '../../db/client';
import { shardCount, shardDb, shardForUsernameKey, shardOfId, shardOfResetToken } from '../../db/shards';
import type { AppEnv } from '../app-env';
import { ApiError, type ErrorCode, type ErrorExtra } from '../../core/errors';
import { logEvent } from '../../core/log';

/**
 * Routing at the edge of each flow (issue 13): the route picks the shard from
 * what the request names (a username, or an id that carries its shard) and
 * hands the flow that one Db; flows never choose a database themselves.
 */

/** The shard of a username (`/register`, `/login`, the admin lookup): the hash of its case-folded key. */
export function usernameShard(c: Context<AppEnv>, username: string): { db: Db; shard: number } {
  const shard = shardForUsernameKey(foldForComparison(username), shardCount(c.env));
  return { db: shardDb(c.env, shard), shard };
}

/** The shard `id` names, or null when it names none (malformed, or a shard >= SHARD_COUNT). */
export function idShardDb(c: Context<AppEnv>, id: string): Db | null {
  const shard = shardOfId(id, shardCount(c.env));
  return shard === null ? null : shardDb(c.env, shard);
}

/** The shard `id` names; else the error the route gives for an unknown id (404, 401 ...), never a 5xx. */
export function idShardDbOr(c: Context<AppEnv>, id: string, code: ErrorCode, extra?: ErrorExtra): Db {
  const db = idShardDb(c, id);
  if (!db) throw new ApiError(code, extra);
  return db;
}

/** The shard of a token's session (its verified `sid`); 401 when it names none, like a dead session. */
export function sessionShardDb(c: Context<AppEnv>, sessionId: string): Db {
  const db = idShardDb(c, sessionId);
  if (!db) {
    logEvent('token_refused', { sessionId, reason: 'session_not_live' });
    throw new ApiError('unauthorized');
  }
  return db;
}

/** The caller's shard on a route behind requireAuth or requireBearer. */
export function callerDb(c: Context<AppEnv>): Db {
  const sessionId = (c.get('auth')?.sessionId ?? c.get('claims')?.sid)!;
  return sessionShardDb(c, sessionId);
}

/** The shard of a reset token; 401 invalid_reset_token when it names none, as for an unknown token. */
export function resetTokenShardDb(c: Context<AppEnv>, resetToken: string): Db {
  const shard = shardOfResetToken(resetToken, shardCount(c.env));
  if (shard === null) {
    logEvent('token_refused', { reason: 'invalid_reset_token' });
    throw new ApiError('invalid_reset_token');
  }
  return shardDb(c.env, shard);
}

/**
 * Where a passwordless sign-in's rows are (it names no username): its budgets and spent
 * challenges on the primary, the account on the shard its user handle (the user id) names.
 */
export function signinDbs(c: Context<AppEnv>): { primary: Db; ofUser(userId: string): Db | null } {
  return { primary: shardDb(c.env, 0), ofUser: (userId: string) => idShardDb(c, userId) };
}
