import { eq } from 'drizzle-orm';
import { PENDING_ENROLLMENT_TTL_SECONDS } from '../config';
import { base32Encode } from '../crypto/base32';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { AuthContext } from './session-lookup';
import { requireRecentAuthentication } from './step-up';
import type { Settings } from '../settings';
import { createSecret, keyUri, livePendingSecret, openSecret } from './totp-secret';

export interface Enrollment {
  secret: string;
  uri: string;
}

/**
 * Makes a new pending secret. With MFA active only a full token may do this
 * (a re-enrollment, during which the old secret stays in force): a stolen
 * password alone must never replace or reveal the second factor.
 */
export async function startEnrollment(db: Db, settings: Settings, auth: AuthContext, now: number): Promise<Enrollment> {
  const { user } = auth;
  // A passkey counts as an active factor too: a password alone adds nothing beside it.
  if ((user.totpSecret || auth.passkeyCount > 0) && !auth.authorized) throw new ApiError('mfa_already_enabled');
  // API.md step-up: a re-enrollment with a full token is a sensitive operation.
  if (auth.authorized) requireRecentAuthentication(auth, now);
  const secret = await createSecret(settings, user.id);
  await db
    .update(users)
    .set({ pendingSecret: secret.sealed, pendingExpiresAt: now + PENDING_ENROLLMENT_TTL_SECONDS })
    .where(eq(users.id, user.id));
  logEvent('enrollment_started', { userId: user.id, reason: user.totpSecret ? 're-enrollment' : 'first' });
  return { secret: secret.base32, uri: keyUri(settings.issuer, user.username, secret.base32) };
}

/**
 * The pending enrollment's URI, for /qrcode. An active secret is never shown;
 * nor is a re-enrollment's pending one to a password-only token, which would
 * otherwise learn the secret that is about to become active.
 */
export async function pendingEnrollment(settings: Settings, auth: AuthContext, now: number): Promise<Enrollment> {
  const { user } = auth;
  if (user.totpSecret && !auth.authorized) throw new ApiError('mfa_already_enabled');
  const sealed = livePendingSecret(user, now);
  if (!sealed) throw new ApiError('no_pending_enrollment');
  const secret = base32Encode(await openSecret(settings, user.id, sealed));
  return { secret, uri: keyUri(settings.issuer, user.username, secret) };
}
