import { and, eq, isNull, sql } from 'drizzle-orm';
import { PENDING_ENROLLMENT_TTL_SECONDS } from '../../settings/tunables';
import { base32Encode } from '../../crypto/base32';
import type { Db } from '../../db/client';
import { users } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { refuseIfSessionEnded, presentedSessionLive } from '../sessions/guards';
import type { AuthContext } from '../sessions/lookup';
import { requireRecentAuthentication } from '../sessions/step-up';
import type { Settings } from '../../settings';
import { createSecret, keyUri, livePendingSecret, openSecret } from './totp-secret';
import { recordEvent } from '../events';
import type { ClientInfo } from '../sessions/store';

export interface Enrollment {
  secret: string;
  uri: string;
}

/**
 * Makes a new pending secret. With MFA active only a full token may do this
 * (a re-enrollment, during which the old secret stays in force): a stolen
 * password alone must never replace or reveal the second factor.
 */
export async function startEnrollment(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  now: number,
  client: ClientInfo = { userAgent: null, ip: null },
): Promise<Enrollment> {
  const { user } = auth;
  // A passkey counts as an active factor too: a password alone adds nothing beside it.
  if ((user.totpSecret || auth.passkeyCount > 0) && !auth.authorized) throw new ApiError('mfa_already_enabled');
  // API.md step-up: a re-enrollment with a full token is a sensitive operation.
  if (auth.authorized) requireRecentAuthentication(auth, now);
  const secret = await createSecret(settings, user.id);
  // One batch whose first statement is guarded: the presented session is still
  // live when it commits, and a password-only one still finds no active
  // secret. The pending secret is bound to this session (API.md, Enrollment);
  // the event is written only when that statement was.
  const [written] = await db.batch([
    db
      .update(users)
      .set({ pendingSecret: secret.sealed, pendingExpiresAt: now + PENDING_ENROLLMENT_TTL_SECONDS, pendingSessionId: auth.sessionId })
      .where(and(eq(users.id, user.id), presentedSessionLive(auth, now), auth.authorized ? undefined : isNull(users.totpSecret)))
      .returning({ id: users.id }),
    recordEvent(db, 'enrollment_started', { userId: user.id, sessionId: auth.sessionId, client, method: 'otp' }, now, sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.pendingSecret} = ${secret.sealed})`),
  ]);
  if (written.length !== 1) {
    await refuseIfSessionEnded(db, auth, now, settings.sessionIdleSeconds);
    throw new ApiError('mfa_already_enabled');
  }
  logEvent('enrollment_started', { userId: user.id, reason: user.totpSecret ? 're-enrollment' : 'first' });
  return { secret: secret.base32, uri: keyUri(settings.issuer, user.username, secret.base32) };
}

/**
 * The pending enrollment's URI, for /qrcode. An active secret is never shown;
 * nor is a re-enrollment's pending one to a password-only token, which would
 * otherwise learn the secret that is about to become active; nor is any
 * pending secret to a session other than the one that made it.
 */
export async function pendingEnrollment(settings: Settings, auth: AuthContext, now: number): Promise<Enrollment> {
  const { user } = auth;
  if (user.totpSecret && !auth.authorized) throw new ApiError('mfa_already_enabled');
  const sealed = livePendingSecret(user, now, auth.sessionId);
  if (!sealed) throw new ApiError('no_pending_enrollment');
  const secret = base32Encode(await openSecret(settings, user.id, sealed));
  return { secret, uri: keyUri(settings.issuer, user.username, secret) };
}
