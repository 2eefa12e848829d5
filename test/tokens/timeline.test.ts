import { beforeEach, describe, expect, it } from 'vitest';
import { signAccessToken, verifyAccessToken } from '../../src/tokens/access-token';
import { jwks } from '../../src/tokens/jwks';
import { currentSigningKey, rotateSigningKeys } from '../../src/tokens/signing-keys';
import type { SigningKeyRow } from '../../src/db/schema';
import { clearKeys, DAY, HOUR, isolate, keyRows, overlaps, T0, tokenSettings } from './support';

beforeEach(clearKeys);

/** The clock's step: a divisor of a day, so the daily cron falls on a step. */
const STEP = 3 * HOUR;

interface Seen {
  firstPublished: number;
  lastPublished: number;
  firstSigned?: number;
  lastSigned?: number;
}

describe('the rotation timeline of API.md, a daily cron, the clock stepped 3 h at a time over 75 days', () => {
  it('publishes each new key 48 h ahead, signs with it 30 days, keeps it published 24 h past its last token', async () => {
    const db = isolate();
    const settings = await tokenSettings({ accessTokenTtlSeconds: 3600 });
    const seen = new Map<string, Seen>();
    // Rows as last seen: the cron prunes keys a month after their publication ends.
    const stored = new Map<string, SigningKeyRow>();
    const end = T0 + 75 * DAY;
    for (let now = T0; now < end; now += STEP) {
      if ((now - T0) % DAY === 0) {
        await rotateSigningKeys(db, settings, now);
        for (const row of await keyRows()) stored.set(row.kid, row);
      }
      for (const key of (await jwks(db, now)).document.keys) {
        const entry = seen.get(key.kid) ?? { firstPublished: now, lastPublished: now };
        entry.lastPublished = now;
        seen.set(key.kid, entry);
      }
      const signer = await currentSigningKey(db, settings, now);
      const entry = seen.get(signer.kid);
      // Rule: a key signs only while it is in the JWKS.
      expect(entry?.lastPublished).toBe(now);
      entry!.firstSigned ??= now;
      entry!.lastSigned = now;
    }
    const rows = [...stored.values()].sort((a, b) => a.signFrom - b.signFrom);
    expect(overlaps(rows)).toEqual([]);
    const keys = rows.map((row) => ({ row, seen: seen.get(row.kid)! }));
    // Signed [0, 30 d), [30, 60 d), [60, 90 d); the fourth not made yet.
    expect(keys).toHaveLength(3);
    const [first, ...later] = keys;
    // The first key of a deployment signs at once: there is nobody to pre-publish it to.
    expect(first!.seen.firstSigned).toBe(T0);
    for (const { row, seen: s } of later) {
      if (s.firstSigned === undefined) continue; // the pending key at the end
      expect(s.firstSigned - s.firstPublished).toBeGreaterThanOrEqual(48 * HOUR);
      expect(row.signFrom - row.publishAt).toBeGreaterThanOrEqual(48 * HOUR);
    }
    for (const { row, seen: s } of keys) {
      if (row.signUntil > end) continue; // still signing at the end
      // Exactly 30 days, and it signed up to its sign_until, not past it.
      expect(row.signUntil - row.signFrom).toBe(30 * DAY);
      expect(s.lastSigned).toBe(row.signUntil - STEP);
      // The last token it signed expires at most 3600 s after sign_until; the key stays 24 h past that.
      expect(row.publishedUntil).toBe(row.signUntil + 3600 + 24 * HOUR);
      if (row.publishedUntil < end) {
        expect(s.lastPublished).toBeLessThan(row.publishedUntil);
        expect(s.lastPublished).toBeGreaterThanOrEqual(row.publishedUntil - STEP);
      }
    }
  });

  it('a token signed in the last second of a key verifies until it expires, and the key leaves the JWKS 24 h later', async () => {
    const db = isolate();
    const settings = await tokenSettings({ accessTokenTtlSeconds: 3600 });
    await rotateSigningKeys(db, settings, T0);
    for (let day = 1; day <= 30; day++) await rotateSigningKeys(db, settings, T0 + day * DAY);
    const [old, successor] = await keyRows();
    const last = old!.signUntil - 1;
    const issued = await signAccessToken(
      db,
      settings,
      { sub: 'u1', username: 'alice', sid: 's1', amr: ['pwd', 'otp'], authTimeSeconds: last, sessionEndsAtSeconds: last + DAY },
      last,
    );
    expect(issued.kid).toBe(old!.kid);
    // One second later the successor signs.
    expect((await currentSigningKey(db, settings, old!.signUntil)).kid).toBe(successor!.kid);
    expect(await verifyAccessToken(db, settings, issued.token, issued.exp - 1)).not.toBeNull();
    expect(await verifyAccessToken(db, settings, issued.token, issued.exp)).toBeNull();
    const kidsAt = async (t: number) => (await jwks(db, t)).document.keys.map((key) => key.kid);
    expect(old!.publishedUntil).toBeGreaterThanOrEqual(issued.exp + 24 * HOUR);
    expect(await kidsAt(old!.publishedUntil - 1)).toContain(old!.kid);
    expect(await kidsAt(old!.publishedUntil)).not.toContain(old!.kid);
  });

  it('with no cron at all, signing traffic in the last 72 h publishes the successor 48 h ahead', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    await currentSigningKey(db, settings, T0);
    // One signing call a day, never a cron run.
    for (let day = 1; day <= 31; day++) await currentSigningKey(db, settings, T0 + day * DAY);
    const rows = await keyRows();
    expect(overlaps(rows)).toEqual([]);
    const [first, successor] = rows;
    expect(first!.signUntil - first!.signFrom).toBe(30 * DAY);
    expect(successor!.signFrom).toBe(first!.signUntil);
    expect(successor!.signFrom - successor!.publishAt).toBeGreaterThanOrEqual(48 * HOUR);
  });

  it('a cron that runs late, inside the last 48 h, lengthens the current key so the successor still gets 48 h', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    await rotateSigningKeys(db, settings, T0);
    const late = T0 + 29 * DAY;
    await rotateSigningKeys(db, settings, late);
    const rows = await keyRows();
    expect(overlaps(rows)).toEqual([]);
    expect(rows).toHaveLength(2);
    const [first, successor] = rows;
    expect(successor).toMatchObject({ publishAt: late, signFrom: late + 48 * HOUR });
    expect(first!.signUntil).toBe(late + 48 * HOUR);
    expect(first!.publishedUntil).toBe(late + 48 * HOUR + 3600 + 24 * HOUR);
  });

  it('a key that ended with nothing to follow it (no cron, no traffic) is replaced by one that signs at once', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    const first = await currentSigningKey(db, settings, T0);
    const later = T0 + 40 * DAY;
    const next = await currentSigningKey(db, settings, later);
    expect(next.kid).not.toBe(first.kid);
    const rows = await keyRows();
    expect(rows.find((row) => row.kid === next.kid)).toMatchObject({ publishAt: later, signFrom: later });
  });
});
