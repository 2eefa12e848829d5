import { and, eq, sql, type SQL } from 'drizzle-orm';
import { randomId } from '../crypto/random';
import type { Db } from '../db/client';
import { insertIf } from '../db/guarded-insert';
import type { BoundFields } from '../db/prebuilt';
import { securityEvents, users } from '../db/schema';
import type { ClientInfo } from './sessions/store';
import type { Reservation } from './throttle/throttle';

export { EVENT_METHODS, SECURITY_EVENT_TYPES, type EventMethod, type SecurityEventType } from './event-types';
import type { EventMethod, SecurityEventType } from './event-types';

/**
 * Each event is written in the same db.batch() as the change it records,
 * under the same guard, so a batch that fails or loses its race leaves no
 * event and one that succeeds always leaves exactly one.
 */

/** API.md: the log keeps 90 days. */
export const EVENT_RETENTION_SECONDS = 90 * 24 * 60 * 60;

/** Support's `reason` is shown to the user; it is bounded like any stored text. */
export const EVENT_REASON_MAX_CHARS = 500;


export interface EventSource {
  userId: string;
  /** The session the event happened in, if any (admin actions have none). */
  sessionId?: string | null;
  client?: ClientInfo;
  /** Only for admin actions: the reason support gave. Never a secret. */
  reason?: string | null;
  /** Which factor; absent for events about none (a session ended, support's actions). */
  method?: EventMethod | null;
}

/** An event's stored values, each a value or (in a prebuilt statement, db/prebuilt.ts) a placeholder. */
export interface EventValues {
  id: string;
  userId: string;
  /** One of THE list (core/event-types.ts): a statement that names its type outright is checked too. */
  type: SecurityEventType;
  at: number;
  sessionId: string | null;
  userAgent: string | null;
  ip: string | null;
  reason: string | null;
  method: EventMethod | null;
}
export const EVENT_VALUES = ['id', 'userId', 'type', 'at', 'sessionId', 'userAgent', 'ip', 'reason', 'method'] as const satisfies readonly (keyof EventValues)[];

/** An event's values from its source (a fresh id). */
export function eventValues(type: SecurityEventType, source: EventSource, now: number): EventValues {
  return {
    id: randomId(),
    userId: source.userId,
    type,
    at: now,
    sessionId: source.sessionId ?? null,
    userAgent: source.client?.userAgent ?? null,
    ip: source.client?.ip ?? null,
    reason: source.reason ?? null,
    method: source.method ?? null,
  };
}

/**
 * The INSERT of one event, unexecuted, for the batch of the change it records.
 * It writes only while the user exists (a deleted account collects nothing,
 * and there is no foreign key to fail a batch) and only if `guard` holds when
 * the statement runs.
 */
export function eventInsert(db: Db, v: BoundFields<EventValues>, guard: SQL) {
  const userExists = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${v.userId})`;
  // Each value bound as SQL, so a prebuilt statement's placeholders fit too. `seq` is left out (NULL): SQLite assigns the next rowid.
  const bound = (value: unknown) => sql`${value}`;
  const row = {
    id: bound(v.id),
    userId: bound(v.userId),
    type: bound(v.type),
    at: bound(v.at),
    sessionId: bound(v.sessionId),
    userAgent: bound(v.userAgent),
    ip: bound(v.ip),
    reason: bound(v.reason),
    method: bound(v.method),
  };
  return insertIf(db, securityEvents, row, and(userExists, guard)!);
}

/** recordEvent for a request's own values: the INSERT, guarded by `guard` if given. */
export function recordEvent(db: Db, type: SecurityEventType, source: EventSource, now: number, guard?: SQL) {
  return eventInsert(db, eventValues(type, source, now), guard ?? sql`1`);
}

/**
 * For the refresh flow: an old refresh token presented again revoked the
 * session (API.md). Put it in the batch that revokes it.
 */
export function refreshTokenReusedEvent(db: Db, userId: string, sessionId: string, client: ClientInfo | undefined, now: number, guard?: SQL) {
  return recordEvent(db, 'refresh_token_reused', { userId, sessionId, client }, now, guard);
}

/** For the passkey flows: in the batch that stores or deletes the credential, under its guard. */
export function passkeyEvent(db: Db, type: 'passkey_added' | 'passkey_removed', source: Omit<EventSource, 'method'>, now: number, guard?: SQL) {
  return recordEvent(db, type, { ...source, method: 'pop' }, now, guard);
}

/** A session ended by its owner (logout, DELETE /sessions/:id). */
export function sessionEndedEvent(db: Db, source: EventSource, now: number, guard?: SQL) {
  return recordEvent(db, 'session_ended', source, now, guard);
}

/** Every event of the user: for account deletion, in its batch. */
export function deleteUserEvents(db: Db, userId: string, guard?: SQL) {
  return db.delete(securityEvents).where(and(eq(securityEvents.userId, userId), guard));
}

/**
 * The cron's cleanup: of the `limit` oldest events (lowest seq), deletes those
 * older than 90 days, in one statement, and returns how many went. There is no
 * index on `at` (it would cost a row written per event); seq follows time, so
 * the oldest seqs are the expired ones and a chunk reads at most `limit` rows.
 * A chunk that deletes fewer than `limit` has reached events still kept, which
 * ends the step for this run (bounded work; the next run takes the rest).
 */
export async function deleteExpiredEvents(db: Db, now: number, limit: number): Promise<number> {
  const result = await expiredEventsChunk(db, now, limit);
  return result.meta.changes;
}

/** The statement of one cleanup chunk (tests read its D1 meta). */
export function expiredEventsChunk(db: Db, now: number, limit: number) {
  const oldest = sql`SELECT ${securityEvents.seq} AS seq, ${securityEvents.at} AS at FROM ${securityEvents} ORDER BY ${securityEvents.seq} LIMIT ${limit}`;
  return db.run(sql`DELETE FROM ${securityEvents} WHERE ${securityEvents.seq} IN (SELECT seq FROM (${oldest}) WHERE at < ${now - EVENT_RETENTION_SECONDS})`);
}

/**
 * The `locked` event for a failed guess whose reservation set a lock (the
 * reservation itself is already committed, so this is its own statement).
 */
export function lockedEventIfSet(db: Db, reservation: Reservation, source: EventSource & { method: EventMethod }, now: number) {
  return reservation.ok && reservation.lockSeconds > 0 ? [recordEvent(db, 'locked', source, now)] : [];
}

/**
 * After a wrong current password in a signed-in session (/password, DELETE /me,
 * /disable-otp): `password_failed`, and `locked` if this failure set the lock,
 * in one batch, so a session thief's guesses show in the owner's log. Not at
 * /login or the hosted password step, where anyone who knows a username could
 * fill the owner's log with them (only their `locked` is written there).
 */
export async function recordPasswordFailure(db: Db, reservation: Reservation, source: EventSource & { method: 'pwd' }, now: number): Promise<void> {
  await db.batch([recordEvent(db, 'password_failed', source, now), ...lockedEventIfSet(db, reservation, source, now)]);
}

/**
 * After a wrong code: `code_failed`, and `locked` if this failure set the lock,
 * in one batch. The failure itself was counted by the reservation before the
 * code was looked at; this records it for the owner.
 */
export async function recordCodeFailure(db: Db, reservation: Reservation, source: EventSource & { method: 'otp' | 'rec' }, now: number): Promise<void> {
  await db.batch([recordEvent(db, 'code_failed', source, now), ...lockedEventIfSet(db, reservation, source, now)]);
}
