import { TOTP_DIGITS, TOTP_PERIOD_SECONDS, TOTP_SECRET_BYTES, TOTP_WINDOW_STEPS } from '../../settings/tunables';
import { base32Encode } from '../../crypto/base32';
import { importOtpKey } from '../../crypto/hotp';
import { randomBytes } from '../../crypto/random';
import { open, seal } from '../../crypto/secret-box';
import { verifyTotp } from '../../crypto/totp';
import type { UserRow } from '../../db/schema';
import type { Settings } from '../../settings';

/** Binds a sealed secret to its user: a ciphertext moved to another row does not open. */
function associatedData(userId: string): string {
  return `totp:${userId}`;
}

export interface NewSecret {
  base32: string;
  sealed: string;
}

/** 160 random bits (RFC 4226 §4 R6), sealed for storage and base32 for the person. */
export async function createSecret(settings: Settings, userId: string): Promise<NewSecret> {
  const secret = randomBytes(TOTP_SECRET_BYTES);
  return { base32: base32Encode(secret), sealed: await seal(settings.totpKey, secret, associatedData(userId)) };
}

export async function openSecret(settings: Settings, userId: string, sealed: string): Promise<Uint8Array> {
  const secret = await open(settings.totpKey, sealed, associatedData(userId));
  // Only a wrong TOTP_ENCRYPTION_KEY or a corrupted row gets here: a server fault.
  if (!secret) throw new Error('a stored TOTP secret could not be decrypted');
  return secret;
}

/** The matched time step, or null. One key import covers the whole window. */
export async function checkCode(settings: Settings, userId: string, sealed: string, code: string, now: number): Promise<number | null> {
  const key = await importOtpKey(await openSecret(settings, userId, sealed));
  return verifyTotp(key, code, now, { digits: TOTP_DIGITS, periodSeconds: TOTP_PERIOD_SECONDS, windowSteps: TOTP_WINDOW_STEPS });
}

/**
 * The pending secret if it has not expired and `sessionId` is the session that
 * made it (API.md, Enrollment): a second login with the same password sees none.
 */
export function livePendingSecret(user: UserRow, now: number, sessionId: string): string | null {
  const live = user.pendingSecret && (user.pendingExpiresAt ?? 0) > now && user.pendingSessionId === sessionId;
  return live ? user.pendingSecret : null;
}

/**
 * Key URI Format: otpauth://totp/Issuer:account?secret=...&issuer=Issuer.
 * Label parts and the issuer parameter are percent-encoded (spaces as %20,
 * never +), the issuer prefix equals the parameter, and the secret is base32
 * without padding.
 */
export function keyUri(issuer: string, username: string, secretBase32: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(username)}`;
  const params = [
    `secret=${secretBase32}`,
    `issuer=${encodeURIComponent(issuer)}`,
    'algorithm=SHA1',
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_SECONDS}`,
  ];
  return `otpauth://totp/${label}?${params.join('&')}`;
}
