import { and, eq, gt, inArray, isNull, lte, ne, sql } from 'drizzle-orm';
import { PASSWORD_RESET_TTL_SECONDS } from '../../settings/tunables';
import { hashPassword, type ScryptParams } from '../../crypto/password';
import { randomBytes } from '../../crypto/random';
import type { Db } from '../../db/client';
import { insertIf } from '../../db/guarded-insert';
import { markShard, shardDigitOf } from '../../db/shard-ids';
import { passwordResets, users } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { passwordHashIs } from '../../core/sessions/guards';
import { passwordProblem } from '../../core/passwords/common-passwords';
import { recordEvent } from '../../core/events';
import { revokeUserSessions, type ClientInfo } from '../../core/sessions/store';
import { resetUserBudget } from '../../core/throttle/user-throttle';

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * SHA-256, hex. The token is 256 random bits, so a fast unsalted hash is
 * enough: nothing smaller than the token itself can be searched (the same
 * reasoning as workers-oauth-provider's token hashing).
 */
export async function hashResetToken(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export interface IssuedReset {
  resetToken: string;
  expiresIn: number;
}

/**
 * Support issues a reset token for a user who forgot the password (there is
 * no e-mail channel: support hands it over after checking identity). Single
 * use, one hour, stored only as its hash; a newer one replaces any older one.
 * The first statement inserts it only if the user exists; the event and the
 * removal of older tokens follow only if it did. null: no such user.
 */
export async function issuePasswordReset(db: Db, userId: string, reason: string, now: number): Promise<IssuedReset | null> {
  // On the user's shard, so POST /password/reset routes there (src/db/shard-ids.ts).
  const resetToken = base64url(markShard(randomBytes(32), shardDigitOf(userId)));
  const tokenHash = await hashResetToken(resetToken);
  const userExists = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId})`;
  const issued = sql`EXISTS (SELECT 1 FROM ${passwordResets} WHERE ${passwordResets.tokenHash} = ${tokenHash})`;
  const [inserted] = await db.batch([
    insertIf(db, passwordResets, { tokenHash, userId, createdAt: now, expiresAt: now + PASSWORD_RESET_TTL_SECONDS, usedAt: null }, userExists),
    db.delete(passwordResets).where(and(eq(passwordResets.userId, userId), ne(passwordResets.tokenHash, tokenHash), issued)),
    recordEvent(db, 'admin_password_reset_issued', { userId, reason }, now, issued),
  ]);
  if (inserted.meta.changes !== 1) return null;
  logEvent('admin_action', { userId, reason: 'password_reset_issued' });
  return { resetToken, expiresIn: PASSWORD_RESET_TTL_SECONDS };
}

/**
 * POST /password/reset: sets the new password and revokes every session.
 * It proves only the password step: the second factor stays as it is, so the
 * next login still asks for it (OWASP ASVS 5.0 V6.4.3). The token is consumed
 * in the batch whose first statement writes the new hash only while the token
 * is unused and unexpired and the stored hash is the one read; the rest (the
 * token marked used among it) runs only if that write landed, so two requests
 * with one token cannot both succeed. Bad, used or expired: 401 invalid_reset_token.
 */
/** Returns the id of the user whose password was set (every session of theirs has ended). */
export async function resetPassword(db: Db, cost: ScryptParams, resetToken: string, newPassword: string, client: ClientInfo, now: number): Promise<string> {
  const tokenHash = await hashResetToken(resetToken);
  const live = and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now));
  const [row] = await db
    .select({ user: users })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .where(live)
    .limit(1);
  if (!row) {
    logEvent('token_refused', { reason: 'invalid_reset_token' });
    throw new ApiError('invalid_reset_token');
  }
  const { user } = row;
  // The registration rules, the blocklist of common passwords included.
  const problem = await passwordProblem(db, user.username, newPassword);
  if (problem) throw new ApiError('weak_password', { message: problem });
  const passwordHash = await hashPassword(newPassword, cost);
  const changed = passwordHashIs(user.id, passwordHash);
  const tokenLive = sql`EXISTS (SELECT 1 FROM ${passwordResets} WHERE ${live!} AND ${passwordResets.userId} = ${user.id})`;
  const [consumed] = await db.batch([
    db
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash), tokenLive))
      .returning({ id: users.id }),
    db.update(passwordResets).set({ usedAt: now }).where(and(live, changed)),
    // Whoever held the old password (or its sessions) is out: see README, "Support desk".
    revokeUserSessions(db, user.id, now, { guard: changed }),
    resetUserBudget(db, 'pwd', user.id, changed),
    recordEvent(db, 'password_reset', { userId: user.id, client, method: 'pwd' }, now, changed),
  ]);
  if (consumed.length !== 1) {
    logEvent('replay_refused', { userId: user.id, reason: 'password_reset' });
    throw new ApiError('invalid_reset_token');
  }
  logEvent('password_reset', { userId: user.id });
  return user.id;
}

/** The cron's cleanup of reset tokens past their hour (used ones included): at most `limit` per call. */
export async function deleteExpiredResetTokens(db: Db, now: number, limit: number): Promise<number> {
  const expired = db.select({ tokenHash: passwordResets.tokenHash }).from(passwordResets).where(lte(passwordResets.expiresAt, now)).limit(limit);
  const result = await db.delete(passwordResets).where(inArray(passwordResets.tokenHash, expired));
  return result.meta.changes;
}
