import { deleteExpiredResetTokens } from './auth/password-reset';
import { deleteExpiredEvents } from './auth/security-events';
import { EVENT_CLEANUP_BATCH } from './config';
import { getDb } from './db/client';
import { logError } from './log';
import { rotateSigningKeys } from './tokens/signing-keys';
import { getSettings } from './settings';

/**
 * The daily Cron Trigger (wrangler.toml `[triggers]`): rotates the signing
 * keys. Idempotent and safe to overlap with another run or with requests
 * (every write is guarded), so a retried or doubled run changes nothing.
 * The time is the trigger's scheduled time, not the wall clock, so a run
 * that starts late still acts for the moment it was meant for.
 */
export async function scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const nowSeconds = Math.floor(controller.scheduledTime / 1000);
  try {
    const result = await rotateSigningKeys(getDb(env.DB), await getSettings(env), nowSeconds);
    // Key ids are public (they are in the JWKS); nothing secret is logged.
    console.log(JSON.stringify({ level: 'info', event: 'signing_keys_rotated', ...result }));
  } catch (error) {
    logError('scheduled', error);
    // Rethrown so the Cron Trigger records the run as failed.
    throw error;
  }
  await cleanUp(env, nowSeconds);
}

/** Security events past 90 days and reset tokens past their hour: bounded per run, idempotent. */
async function cleanUp(env: Env, nowSeconds: number): Promise<void> {
  try {
    const db = getDb(env.DB);
    const events = await deleteExpiredEvents(db, nowSeconds, EVENT_CLEANUP_BATCH);
    const resetTokens = await deleteExpiredResetTokens(db, nowSeconds, EVENT_CLEANUP_BATCH);
    console.log(JSON.stringify({ level: 'info', event: 'expired_rows_deleted', events, resetTokens }));
  } catch (error) {
    logError('scheduled cleanup', error);
    throw error;
  }
}
