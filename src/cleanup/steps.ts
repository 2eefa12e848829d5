import { pendingEnrollmentsStep } from './pending-enrollments';
import { sessionsStep } from './sessions';
import type { CleanupStep } from './step';
import { throttlesStep } from './throttles';

/**
 * Every table's cleanup, run in this order by the daily Cron Trigger. A new
 * table with rows that expire adds one entry here, e.g.
 * `{ name: 'security_events', chunk: deleteExpiredEvents }`.
 * Signing keys are not here: rotateSigningKeys prunes them itself.
 */
export const CLEANUP_STEPS: readonly CleanupStep[] = [sessionsStep, throttlesStep, pendingEnrollmentsStep];
