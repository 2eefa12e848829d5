import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { scheduled } from '../../src/scheduled';
import { clearKeys, DAY, keyRows, overlaps, T0 } from './support';

beforeEach(clearKeys);

async function runCron(atSeconds: number): Promise<void> {
  const controller = createScheduledController({ scheduledTime: new Date(atSeconds * 1000), cron: '17 3 * * *' });
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
