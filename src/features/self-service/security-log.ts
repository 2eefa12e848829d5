import { and, desc, eq, lt, or } from 'drizzle-orm';
import type { SecurityEventType } from '../../core/event-types';
import { isoInstant } from '../../core/time';
import type { Db } from '../../db/client';
import { securityEvents } from '../../db/schema';

/** GET /me/security-events: the owner's log, newest first, a page at a time. */
export interface EventView {
  id: string;
  type: SecurityEventType;
  at: string;
  ip: string | null;
  userAgent: string | null;
  sessionId: string | null;
  reason: string | null;
}

export interface EventPage {
  events: EventView[];
  next: string | null;
}

/** A position in the log: the (at, seq) of the last event of a page. */
export interface Cursor {
  at: number;
  seq: number;
}

/** Opaque to clients: base64url of `at.seq`. */
export function encodeCursor(cursor: Cursor): string {
  return btoa(`${cursor.at}.${cursor.seq}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** null for anything that is not a cursor this service made. */
export function decodeCursor(text: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) return null;
  let plain: string;
  try {
    plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(plain);
  return match ? { at: Number(match[1]), seq: Number(match[2]) } : null;
}

/**
 * The user's events, newest first, `limit` at a time. Ordered by (at, seq),
 * both fixed at insert, and a new event's seq is above every row present (a
 * seq freed by deleting the newest rows may be given again, but never below a
 * row a client can hold), so an event written while a client pages lands
 * before its cursor (it is newer) and never shifts, repeats or hides the
 * older ones.
 */
export async function listEvents(db: Db, userId: string, limit: number, before: Cursor | null): Promise<EventPage> {
  const older = before
    ? or(lt(securityEvents.at, before.at), and(eq(securityEvents.at, before.at), lt(securityEvents.seq, before.seq)))
    : undefined;
  const rows = await db
    .select()
    .from(securityEvents)
    .where(and(eq(securityEvents.userId, userId), older))
    .orderBy(desc(securityEvents.at), desc(securityEvents.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page.map((row) => ({
      id: row.id,
      type: row.type as SecurityEventType,
      at: isoInstant(row.at),
      ip: row.ip,
      userAgent: row.userAgent,
      sessionId: row.sessionId,
      reason: row.reason,
    })),
    next: rows.length > limit && last ? encodeCursor({ at: last.at, seq: last.seq }) : null,
  };
}
