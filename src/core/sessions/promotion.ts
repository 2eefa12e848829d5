import { and, eq, sql, type SQL } from 'drizzle-orm';
import { randomId } from '../../crypto/random';
import type { Db } from '../../db/client';
import type { Bound, BoundFields } from '../../db/prebuilt';
import { sessions } from '../../db/schema';
import type { Settings } from '../../settings';
import type { AuthContext } from './lookup';
import { newSession, sessionLiveAt, type AuthMethods, type ClientInfo, type NewSession } from './store';

/**
 * The two UPDATEs that make a session full once a second factor is proven:
 * a promotion (password-only to full, in place) and a renewal (step-up: a
 * fresh auth_time, the next refresh generation). Their values are plain
 * fields, so a prebuilt statement (db/prebuilt.ts) binds the same names.
 */

/** The full session a promotion makes of the presented password-only one: a new one's columns, under its id. */
export function promotedSession(settings: Settings, auth: AuthContext, now: number, amr: AuthMethods, client: ClientInfo): NewSession & { commitId: string } {
  return { ...newSession(settings, auth.user.id, true, now, amr, client), id: auth.sessionId, commitId: randomId() };
}

/** What the promotion's UPDATE binds, from the promoted session (a prebuilt statement binds the same names). */
export function promotionValues(session: NewSession & { commitId: string }, userId: string, now: number, idleCutoff: number): PromotionValues {
  const { id: sid, createdAt, expiresAt, authTime, amr, generation, rotatedAt, lastUsedAt, userAgent, ip, commitId } = session;
  return { sid, userId, now, idleCutoff, createdAt: createdAt!, expiresAt, authTime: authTime!, amr, generation: generation!, rotatedAt: rotatedAt!, lastUsedAt: lastUsedAt!, userAgent: userAgent ?? null, ip: ip ?? null, commitId };
}
export interface PromotionValues {
  sid: string;
  userId: string;
  now: number;
  idleCutoff: number;
  createdAt: number;
  expiresAt: number;
  authTime: number;
  amr: string;
  generation: number;
  rotatedAt: number;
  lastUsedAt: number;
  userAgent: string | null;
  ip: string | null;
  commitId: string;
}
export const PROMOTION_VALUES = [
  'sid',
  'userId',
  'now',
  'idleCutoff',
  'createdAt',
  'expiresAt',
  'authTime',
  'amr',
  'generation',
  'rotatedAt',
  'lastUsedAt',
  'userAgent',
  'ip',
  'commitId',
] as const satisfies readonly (keyof PromotionValues)[];

/** The promotion: guarded on the session being still this user's, password-only and live, and on `guard`. */
export function promotionUpdate(db: Db, v: BoundFields<PromotionValues>, guard: SQL) {
  return db
    .update(sessions)
    .set({
      authorized: true,
      createdAt: sql`${v.createdAt}`,
      expiresAt: sql`${v.expiresAt}`,
      authTime: sql`${v.authTime}`,
      amr: sql`${v.amr}`,
      generation: sql`${v.generation}`,
      rotatedAt: sql`${v.rotatedAt}`,
      lastUsedAt: sql`${v.lastUsedAt}`,
      userAgent: sql`${v.userAgent}`,
      ip: sql`${v.ip}`,
      commitId: sql`${v.commitId}`,
    })
    .where(and(eq(sessions.id, v.sid), eq(sessions.userId, v.userId), eq(sessions.authorized, false), sessionLiveAt(v.now, v.idleCutoff), guard));
}

/** True inside a batch once this commit's promotion or renewal (its `commit_id`) has landed. */
export function promotedBy(sessionId: Bound<string>, commitId: Bound<string>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.commitId} = ${commitId})`;
}

/**
 * What a renewal records as `amr` (RFC 8176: the methods used): ["pwd", factor]
 * for a session that began with a password; the factor alone ("otp", "rec",
 * "pop") for one opened by a passkey alone ("pop mfa"), where no password was
 * ever typed (never more than proven).
 */
export function renewalMethods(opened: string, proved: AuthMethods): string {
  return (opened.split(' ').includes('pwd') ? proved : proved.filter((method) => method !== 'pwd')).join(' ');
}

/** The presented full session, renewed: a fresh auth_time and absolute end, the next refresh generation. */
export function renewedSession(settings: Settings, auth: AuthContext, now: number, amr: AuthMethods): NewSession & { commitId: string } {
  return {
    ...auth.session,
    authorized: true,
    revokedAt: null,
    authTime: now,
    // API.md: the absolute limit counts from auth_time.
    expiresAt: now + settings.sessionMaxSeconds,
    amr: renewalMethods(auth.session.amr, amr),
    // What this renewal proved (a code or a passkey after the session began): aal2.
    acr: null,
    generation: auth.session.generation + 1,
    rotatedAt: now,
    lastUsedAt: now,
    // Marks this renewal: a concurrent one that lost (same second, same next
    // generation) must not pass the later statements' `won` (its event, its step).
    commitId: randomId(),
  };
}

/** What the renewal's UPDATE binds: the renewed session's columns and the generation it replaces. */
export function renewalValues(session: NewSession & { commitId: string }, previousGeneration: number, now: number, idleCutoff: number): RenewalValues {
  const { id: sid, authTime, expiresAt, amr, generation, rotatedAt, lastUsedAt, commitId } = session;
  return { sid, previousGeneration, now, idleCutoff, authTime: authTime!, expiresAt, amr, generation: generation!, rotatedAt: rotatedAt!, lastUsedAt: lastUsedAt!, commitId };
}
export type RenewalValues = Pick<PromotionValues, 'sid' | 'now' | 'idleCutoff' | 'authTime' | 'expiresAt' | 'amr' | 'generation' | 'rotatedAt' | 'lastUsedAt' | 'commitId'> & { previousGeneration: number };
export const RENEWAL_VALUES = [
  'sid',
  'previousGeneration',
  'now',
  'idleCutoff',
  'authTime',
  'expiresAt',
  'amr',
  'generation',
  'rotatedAt',
  'lastUsedAt',
  'commitId',
] as const satisfies readonly (keyof RenewalValues)[];

/** The renewal: a compare-and-swap on the generation of a live session, and `guard`. */
export function renewalUpdate(db: Db, v: BoundFields<RenewalValues>, guard: SQL) {
  return db
    .update(sessions)
    .set({
      authTime: sql`${v.authTime}`,
      expiresAt: sql`${v.expiresAt}`,
      amr: sql`${v.amr}`,
      acr: sql`NULL`,
      generation: sql`${v.generation}`,
      rotatedAt: sql`${v.rotatedAt}`,
      lastUsedAt: sql`${v.lastUsedAt}`,
      commitId: sql`${v.commitId}`,
    })
    .where(and(eq(sessions.id, v.sid), eq(sessions.generation, v.previousGeneration), sessionLiveAt(v.now, v.idleCutoff), guard));
}
