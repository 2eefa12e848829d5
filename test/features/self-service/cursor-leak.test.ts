import { afterEach, describe, expect, it } from 'vitest';
import { call, enrolledUser, setNow, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_950_400_000;

type Page = { events: { id: string }[]; next: string | null };

describe('the security-log cursor is opaque and its owner\'s (CWE-200)', () => {
  it('attack: reading one\'s own log twice no longer counts every other account\'s events, and another user\'s cursor is refused', async () => {
    // The story: the cursor was base64 of "at.seq", and seq is a shard-wide
    // row number. Alice pages her log, waits, pages again: the difference of
    // the two seqs, minus her own events, is how many events every other
    // account on her shard produced meanwhile (logins, failures: activity she
    // has no business seeing). And Bob could page with Alice's cursor.
    const alice = await enrolledUser(T0);
    const first = await call<Page>('/me/security-events?limit=1', { token: alice.fullToken });
    expect(first.status).toBe(200);
    const cursor = first.body.next!;
    expect(cursor).toEqual(expect.any(String));
    // Nothing in it reads as a number: not base64 of "at.seq", nor any digits of the seq.
    let plain = '';
    try {
      plain = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    } catch {
      plain = '';
    }
    expect(plain).not.toMatch(/^\d+\.\d+$/);
    // Two reads of the same position give unrelated strings: no structure to diff.
    const again = await call<Page>('/me/security-events?limit=1', { token: alice.fullToken });
    expect(again.body.next).not.toBe(cursor);
    expect((await call<Page>(`/me/security-events?limit=5&before=${again.body.next}`, { token: alice.fullToken })).body.events).toEqual(
      (await call<Page>(`/me/security-events?limit=5&before=${cursor}`, { token: alice.fullToken })).body.events,
    );

    // Bob, on any shard, cannot use it.
    const bob = await enrolledUser(T0 + 10);
    setNow(T0 + 20);
    const stolen = await call('/me/security-events?before=' + cursor, { token: bob.fullToken });
    expect(stolen.status).toBe(400);
    expect(stolen.body).toMatchObject({ error: 'validation_failed' });
  });
});
