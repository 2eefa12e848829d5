import { chunksPerStepFor } from '../settings/retention';
import { runCleanup } from './run';
import { sweepBackchannel } from './backchannel';
import { CLEANUP_STEPS } from './steps';
import { allShardDbs, primaryDb } from '../db/shards';
import { logError } from '../core/log';
import { ensureRsaPartners } from '../tokens/rsa-signing-keys';
import { rotateSigningKeys } from '../tokens/signing-keys';
import { getSettings } from '../settings';

/**
 * wrangler.toml's hourly trigger: the provider's back-channel sweep and the
 * cleanup. Every other trigger (the daily one, a manual run) also rotates the
 * signing keys.
 */
export const CLEANUP_ONLY_CRON = '47 * * * *';

/**
 * The Cron Triggers (wrangler.toml `[triggers]`): daily, rotates the signing
 * keys, then deletes what can no longer matter (src/scheduled/steps.ts), in
 * bounded chunks; hourly, the cleanup alone. Both first send the back-channel
 * logouts still owed (src/scheduled/backchannel.ts). Idempotent and safe to overlap with another run or with
 * requests (every write is guarded), so a retried or doubled run changes
 * nothing. The time is the trigger's scheduled time, not the wall clock, so a
 * run that starts late still acts for the moment it was meant for. The keys
 * live on the primary shard, so they rotate there only; the cleanup runs on
 * every shard (src/db/shards.ts), each with its own bounded budget, at once.
 */
export async function scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const nowSeconds = Math.floor(controller.scheduledTime / 1000);
  let failure: unknown;
  if (controller.cron !== CLEANUP_ONLY_CRON) {
    try {
      const settings = await getSettings(env);
      const result = await rotateSigningKeys(primaryDb(env), settings, nowSeconds);
      // The OpenID Provider's RSA keys rotate with the Ed25519 ones: a new successor gets its partner now.
      if (settings.issuerUrl !== null) await ensureRsaPartners(primaryDb(env), settings, nowSeconds);
      // Key ids are public (they are in the JWKS); nothing secret is logged.
      console.log(JSON.stringify({ level: 'info', event: 'signing_keys_rotated', ...result }));
    } catch (error) {
      logError('scheduled', error);
      failure = error;
    }
  }
  try {
    const swept = await sweepBackchannel(env, nowSeconds);
    if (swept) console.log(JSON.stringify({ level: 'info', event: 'backchannel_swept', ...swept }));
  } catch (error) {
    logError('scheduled backchannel', error);
    failure ??= error;
  }
  // A failed rotation (or sweep) does not stop the cleanup, nor one failed step the others.
  const shards = allShardDbs(env);
  const chunksPerStep = chunksPerStepFor(shards.length, CLEANUP_STEPS.length);
  const runs = await Promise.all(shards.map((db) => runCleanup(db, nowSeconds, { chunksPerStep })));
  const errors = runs.flatMap((run) => run.errors);
  runs.forEach(({ reports }, shard) => console.log(JSON.stringify({ level: 'info', event: 'cleanup_ran', shard, steps: reports })));
  for (const error of errors) logError('scheduled cleanup', error);
  // Rethrown so the Cron Trigger records the run as failed.
  if (failure !== undefined) throw failure;
  if (errors.length > 0) throw errors[0];
}
