import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { EVENT_RETENTION_SECONDS, deleteExpiredEvents, expiredEventsChunk, recordEvent } from '../../../src/core/events';
import { getDb } from '../../../src/db/client';
import { registerUser, uniqueName } from '../../helpers';
import { T0 } from './support';

const db = getDb(env.DB);

async function eventCount(userId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM security_events WHERE user_id = ?').bind(userId).first<{ n: number }>();
  return row?.n ?? 0;
}

describe('security events: storage cost and retention', () => {
  // D1 bills every index entry as a row written; the log is written on every
  // login step, so its price is part of each journey (issue 13: rows written).
  it('one event costs two rows written: the row and the per-user index', async () => {
    const user = await registerUser(uniqueName());
    const result = await recordEvent(db, 'login', { userId: user.id }, T0).run();
    expect(result.meta.rows_written).toBe(2);
  });

  it('each new event gets a seq above every row present, even after the newest row is deleted', async () => {
    // Paging is by (at, seq): a new event must sort after every event a client may hold.
    const user = await registerUser(uniqueName());
    const maxSeq = async () => (await env.DB.prepare('SELECT max(seq) AS seq FROM security_events').first<{ seq: number }>())!.seq;
    await recordEvent(db, 'login', { userId: user.id }, T0).run();
    await recordEvent(db, 'login', { userId: user.id }, T0).run();
    const newest = await maxSeq();
    await env.DB.prepare('DELETE FROM security_events WHERE seq = ?').bind(newest).run();
    const present = await maxSeq();
    await recordEvent(db, 'login', { userId: user.id }, T0).run();
    expect(await maxSeq()).toBeGreaterThan(present);
  });

  it('a cleanup chunk reads at most its limit of rows and deletes only expired events among the oldest', async () => {
    const user = await registerUser(uniqueName());
    const now = T0 + EVENT_RETENTION_SECONDS + 10_000;
    // Ten expired events, then ten kept ones: the log's usual order (seq follows time).
    for (let i = 0; i < 10; i++) await recordEvent(db, 'login', { userId: user.id }, now - EVENT_RETENTION_SECONDS - 100 + i).run();
    for (let i = 0; i < 10; i++) await recordEvent(db, 'login', { userId: user.id }, now - 100 + i).run();
    const before = await eventCount(user.id);

    const deletedAll = await env.DB.prepare('SELECT count(*) AS n FROM security_events WHERE at < ?').bind(now - EVENT_RETENTION_SECONDS).first<{ n: number }>();
    let deleted = 0;
    for (;;) {
      const changed = await deleteExpiredEvents(db, now, 4);
      deleted += changed;
      if (changed < 4) break;
    }
    expect(deleted).toBe(deletedAll!.n);
    expect(await eventCount(user.id)).toBe(before - 10);
    const left = await env.DB.prepare('SELECT min(at) AS at FROM security_events WHERE user_id = ?').bind(user.id).first<{ at: number }>();
    expect(left!.at).toBe(now - 100);

    // Nothing left to delete: the chunk reads only `limit` rows, not the whole table.
    const probe = await expiredEventsChunk(db, now, 4);
    expect(probe.meta.changes).toBe(0);
    // The table holds at least the ten kept events, yet the chunk read no more than
    // its limit and the one row SQLite looks at past it.
    const total = await env.DB.prepare('SELECT count(*) AS n FROM security_events').first<{ n: number }>();
    expect(total!.n).toBeGreaterThanOrEqual(10);
    expect(probe.meta.rows_read).toBeLessThanOrEqual(5);
  });
});
