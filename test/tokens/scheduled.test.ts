import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { chunksPerStepFor, CLEANUP_CHUNKS_PER_STEP, CLEANUP_QUERIES_PER_RUN } from '../../src/settings/retention';
import { CLEANUP_STEPS } from '../../src/scheduled/steps';
import { CLEANUP_ONLY_CRON, scheduled } from '../../src/scheduled';
import { clearKeys, DAY, keyRows, overlaps, T0 } from './support';

beforeEach(clearKeys);

async function runCron(atSeconds: number, cron = '17 3 * * *'): Promise<void> {
  const controller = createScheduledController({ scheduledTime: new Date(atSeconds * 1000), cron });
  const ctx = createExecutionContext();
  await scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

describe('the daily Cron Trigger', () => {
  it('creates the first key, publishes the successor when due, and a doubled run changes nothing', async () => {
    await runCron(T0);
    expect(await keyRows()).toHaveLength(1);
    await runCron(T0 + 26 * DAY);
    expect(await keyRows()).toHaveLength(1);
    await Promise.all([runCron(T0 + 27 * DAY), runCron(T0 + 27 * DAY)]);
    const rows = await keyRows();
    expect(rows).toHaveLength(2);
    expect(overlaps(rows)).toEqual([]);
    await runCron(T0 + 27 * DAY);
    expect(await keyRows()).toEqual(rows);
  });

  it('fails the run loudly when the wrapping secret is missing', async () => {
    const controller = createScheduledController({ scheduledTime: new Date(T0 * 1000), cron: '17 3 * * *' });
    await expect(scheduled(controller, { ...env, TOTP_ENCRYPTION_KEY: '' }, createExecutionContext())).rejects.toThrow(
      /TOTP_ENCRYPTION_KEY/,
    );
  });
});

describe('the hourly cleanup trigger', () => {
  it('rotates nothing: the keys are the daily trigger\'s (or the first request\'s) work', async () => {
    await runCron(T0, CLEANUP_ONLY_CRON);
    expect(await keyRows()).toHaveLength(0);
    await runCron(T0);
    expect(await keyRows()).toHaveLength(1);
  });

  it('shares one invocation\'s D1 query allowance out over every shard and step', () => {
    // D1: 1 000 queries per invocation; every shard's every step must fit in one run.
    for (const shards of [1, 2, 3, 4, 8, 16]) {
      const chunks = chunksPerStepFor(shards, CLEANUP_STEPS.length);
      expect(chunks).toBeGreaterThanOrEqual(1);
      expect(chunks).toBeLessThanOrEqual(CLEANUP_CHUNKS_PER_STEP);
      expect(shards * CLEANUP_STEPS.length * chunks).toBeLessThanOrEqual(CLEANUP_QUERIES_PER_RUN);
    }
    expect(chunksPerStepFor(1, CLEANUP_STEPS.length)).toBe(CLEANUP_CHUNKS_PER_STEP);
  });
});
