import { beforeEach, describe, expect, it } from 'vitest';
import { currentSigningKey, rotateSigningKeys } from '../../src/tokens/signing-keys';
import { signerAt } from '../../src/tokens/signing-key-schedule';
import { clearKeys, DAY, isolate, keyRows, overlaps, T0, tokenSettings } from './support';

beforeEach(clearKeys);

describe('exactly one key signs, however many callers race', () => {
  it('the first requests of a new deployment, in eight isolates at once, create one key and all sign with it', async () => {
    // Race: every isolate finds the table empty and tries to create the first key.
    const settings = await tokenSettings();
    const keys = await Promise.all(Array.from({ length: 8 }, () => currentSigningKey(isolate(), settings, T0)));
    const rows = await keyRows();
    expect(rows).toHaveLength(1);
    expect(new Set(keys.map((key) => key.kid))).toEqual(new Set([rows[0]!.kid]));
    expect(rows[0]).toMatchObject({ publishAt: T0, signFrom: T0, signUntil: T0 + 30 * DAY, revokedAt: null });
  });

  it('first requests racing cron runs on an empty table still make one key', async () => {
    const settings = await tokenSettings();
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => rotateSigningKeys(isolate(), settings, T0)),
      ...Array.from({ length: 4 }, () => currentSigningKey(isolate(), settings, T0).then((key) => ({ signingKid: key.kid }))),
    ]);
    const rows = await keyRows();
    expect(rows).toHaveLength(1);
    expect(new Set(results.map((result) => result.signingKid)).size).toBe(1);
  });

  it('six concurrent rotations when a successor is due publish exactly one successor', async () => {
    // Race: overlapping cron runs (a retry, a manual trigger) each see "no successor yet".
    const settings = await tokenSettings();
    await currentSigningKey(isolate(), settings, T0);
    const due = T0 + 27 * DAY;
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => rotateSigningKeys(isolate(), settings, due)),
      ...Array.from({ length: 3 }, () => currentSigningKey(isolate(), settings, due).then((key) => ({ signingKid: key.kid, publishedKid: null }))),
    ]);
    const rows = await keyRows();
    expect(rows).toHaveLength(2);
    // A signing call may publish the successor itself (self-healing); no caller publishes a second.
    expect(results.filter((result) => result.publishedKid !== null).length).toBeLessThanOrEqual(1);
    expect(overlaps(rows)).toEqual([]);
    const [first, successor] = rows;
    expect(new Set(results.map((result) => result.signingKid))).toEqual(new Set([first!.kid]));
    expect(successor!.signFrom).toBe(first!.signUntil);
    // Every hour until the successor's end has a signer (and, windows being disjoint, only one).
    for (let t = due; t < successor!.signUntil; t += 3600) expect(signerAt(rows, t)).not.toBeNull();
    expect(signerAt(rows, successor!.signUntil)).toBeNull();
  });

  it('rotations at different moments of the same day still leave one successor', async () => {
    const settings = await tokenSettings();
    await currentSigningKey(isolate(), settings, T0);
    const moments = [0, 1, 17, 3600, 40_000].map((offset) => T0 + 27 * DAY + offset);
    await Promise.all(moments.map((now) => rotateSigningKeys(isolate(), settings, now)));
    const rows = await keyRows();
    expect(rows).toHaveLength(2);
    expect(overlaps(rows)).toEqual([]);
  });
});
