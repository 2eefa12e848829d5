import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, desc, eq, lt, or } from 'drizzle-orm';
import type { EventMethod, SecurityEventType } from '../../core/event-types';
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
  method: EventMethod | null;
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

const IV_BYTES = 12;
/** Two 64-bit big-endian integers: `at`, then `seq`. */
const PLAIN_BYTES = 16;
/** IV, the sealed position, the 16-byte tag: 44 bytes, 59 base64url characters (the query schema allows 64). */
const SEALED_BYTES = IV_BYTES + PLAIN_BYTES + 16;

/**
 * Opaque and the owner's alone (CWE-200): the position is sealed with AES-GCM
 * under a server key, the owner's user id bound in as associated data. `seq`
 * is shard-wide (every account's events share it), so in the clear two reads
 * of one's own log told how many events every other account made in between;
 * sealed, a cursor tells nothing, cannot be forged or edited, and one user's
 * cursor does not open for another (400, as a bad cursor).
 */
export async function encodeCursor(key: CryptoKey, userId: string, cursor: Cursor): Promise<string> {
  const plain = new DataView(new ArrayBuffer(PLAIN_BYTES));
  plain.setBigUint64(0, BigInt(cursor.at));
  plain.setBigUint64(8, BigInt(cursor.seq));
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: ownerOf(userId) }, key, plain.buffer));
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return encodeBase64urlNoPadding(out);
}

/** null for anything that is not a cursor this service made for this user. */
export async function decodeCursor(key: CryptoKey, userId: string, text: string): Promise<Cursor | null> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) return null;
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64urlIgnorePadding(text);
  } catch {
    return null;
  }
  if (bytes.length !== SEALED_BYTES) return null;
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, IV_BYTES), additionalData: ownerOf(userId) }, key, bytes.slice(IV_BYTES));
  } catch {
    return null;
  }
  const view = new DataView(plain);
  const at = view.getBigUint64(0);
  const seq = view.getBigUint64(8);
  if (at > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { at: Number(at), seq: Number(seq) };
}

const ownerOf = (userId: string) => new TextEncoder().encode(`edge-mfa log cursor:${userId}`);

/**
 * The user's events, newest first, `limit` at a time. Ordered by (at, seq),
 * both fixed at insert, and a new event's seq is above every row present (a
 * seq freed by deleting the newest rows may be given again, but never below a
 * row a client can hold), so an event written while a client pages lands
 * before its cursor (it is newer) and never shifts, repeats or hides the
 * older ones.
 */
export async function listEvents(db: Db, cursorKey: CryptoKey, userId: string, limit: number, before: Cursor | null): Promise<EventPage> {
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
      type: row.type,
      at: isoInstant(row.at),
      ip: row.ip,
      userAgent: row.userAgent,
      sessionId: row.sessionId,
      reason: row.reason,
      method: row.method,
    })),
    next: rows.length > limit && last ? await encodeCursor(cursorKey, userId, { at: last.at, seq: last.seq }) : null,
  };
}
