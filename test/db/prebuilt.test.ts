import { env } from 'cloudflare:test';
import { eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { liveSessionRead } from '../../src/core/sessions/lookup';
import { getDb } from '../../src/db/client';
import { batchPrebuilt, prebuilt, prefixedColumns } from '../../src/db/prebuilt';
import { sessions, users } from '../../src/db/schema';
import { decodeJwtPayload, enrolledUser, loginUser, setNow, useRealTime } from '../helpers';

const T0 = 1_900_000_000;
afterEach(useRealTime);

/** drizzle's own answer for the same read (one query, rows as arrays: no name collision). */
function drizzleRead(sid: string) {
  const db = getDb(env.DB);
  return db.select({ session: sessions, user: users }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, sid)).limit(1);
}

describe('prebuilt statements map rows as drizzle does', () => {
  it('the live-session JOIN: both tables whole, booleans and nulls decoded, the counts beside them', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const pwd = await loginUser(user.username);
    const db = getDb(env.DB);
    for (const token of [user.fullToken, pwd.token]) {
      const sid = decodeJwtPayload(token).sid as string;
      const [[row]] = await batchPrebuilt(db, [liveSessionRead(db, { sid, now: T0 + 60, idleCutoff: T0 + 60 - 3600 })]);
      const [expected] = await drizzleRead(sid);
      expect(row).toEqual({ ...expected, recoveryCodesRemaining: 10, passkeyCount: 0 });
      // Decoded, not as stored: a boolean column, a null stays null.
      expect(typeof row!.session.authorized).toBe('boolean');
    }
    const [password] = await drizzleRead(decodeJwtPayload(pwd.token).sid as string);
    expect(password!.session.authTime).toBeNull();
  });

  it('a row the guard excludes is no row; a statement without rows answers its D1 result', async () => {
    const user = await enrolledUser(T0);
    const db = getDb(env.DB);
    const sid = decodeJwtPayload(user.fullToken).sid as string;
    const touch = prebuilt(['sid', 'at'], (db, p) => db.update(sessions).set({ lastUsedAt: sql`${p.at}` }).where(eq(sessions.id, p.sid)));
    const [dead, touched] = await batchPrebuilt(db, [liveSessionRead(db, { sid, now: T0 + 10 ** 7, idleCutoff: T0 }), touch(db, { sid, at: T0 + 5 })]);
    expect(dead).toEqual([]);
    expect(touched.meta.changes).toBe(1);
  });

  it('prefixed columns of a LEFT JOIN without a match are nulls, which drizzle would not nullify either', async () => {
    const user = await enrolledUser(T0);
    const db = getDb(env.DB);
    const read = prebuilt(['id'], (db, p) =>
      db.select({ user: prefixedColumns(users, 'u_'), session: prefixedColumns(sessions, 's_') }).from(users).leftJoin(sessions, eq(sessions.id, p.id)).where(eq(users.id, user.id)),
    );
    const [[row]] = await batchPrebuilt(db, [read(db, { id: 'no such session' })]);
    expect(row!.user.id).toBe(user.id);
    expect(Object.values(row!.session).every((value) => value === null)).toBe(true);
  });

  it('a value left undefined is refused before D1 binds it', async () => {
    const db = getDb(env.DB);
    expect(() => liveSessionRead(db, { sid: 'x', now: T0, idleCutoff: undefined as unknown as number })).toThrow('no value for idleCutoff');
  });
});
