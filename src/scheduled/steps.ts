import { deleteExpiredResetTokens } from '../features/support/password-reset';
import { deleteExpiredEvents } from '../core/events';
import { sql } from 'drizzle-orm';
import { webauthnChallenges, webauthnSigninSpent } from '../db/schema';
import { expiredCodesCondition } from '../features/oidc/codes';
import { oidcCodes } from '../features/oidc/tables';
import { deleteChunk } from './chunk';
import { pendingEnrollmentsStep } from './pending-enrollments';
import { sessionsStep } from './sessions';
import type { CleanupStep } from './step';
import { throttlesStep } from './throttles';

/**
 * Every table's cleanup, run in this order by the Cron Triggers (hourly). A new
 * table with rows that expire adds one entry here, e.g.
 * `{ name: 'security_events', chunk: deleteExpiredEvents }`.
 * Signing keys are not here: rotateSigningKeys prunes them itself.
 */
export const CLEANUP_STEPS: readonly CleanupStep[] = [
  sessionsStep,
  throttlesStep,
  pendingEnrollmentsStep,
  // API.md: security events are kept 90 days; reset tokens live one hour.
  { name: 'security_events', chunk: deleteExpiredEvents },
  { name: 'password_resets', chunk: deleteExpiredResetTokens },
  // A passkey challenge is good for 5 minutes; every reader already requires expires_at > now.
  { name: 'webauthn_challenges', chunk: (db, now, limit) => deleteChunk(db, webauthnChallenges, sql`${webauthnChallenges.expiresAt} <= ${now}`, limit) },
  // OpenID authorization codes: 60 s, kept an hour more for reuse detection (features/oidc/codes.ts).
  { name: 'oidc_codes', chunk: (db, now, limit) => deleteChunk(db, oidcCodes, expiredCodesCondition(now), limit) },
  // A spent sign-in challenge need not be remembered once it has expired: its id is refused by its expiry then.
  { name: 'webauthn_signin_spent', chunk: (db, now, limit) => deleteChunk(db, webauthnSigninSpent, sql`${webauthnSigninSpent.expiresAt} <= ${now}`, limit) },
];
