import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../../db/client';
import type { Bound, BoundFields } from '../../db/prebuilt';
import { sessions, users } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { toAuthContext, type AuthContext } from '../sessions/lookup';
import type { TokenClaims } from '../../tokens/jwt';
import type { Settings } from '../../settings';
import { findRecoveryCode, generateRecoveryCodes, unusedRecoveryCodeCount, markRecoveryCodeUsed, replaceRecoveryCodes, unusedRecoveryCodeExists } from '../recovery-codes';
import { commitGuardedBatch, type Landed } from '../sessions/commit-retry';
import { issueSessionTokens, type SessionTokens } from '../sessions/tokens';
import {
  insertSessionIf,
  newSession,
  revokeSession,
  revokeUserSessions,
  sessionExists,
  sessionIsLive,
  sessionLive,
  sessionLiveAt,
  type AuthMethods,
  type ClientInfo,
  type NewSession,
} from '../sessions/store';
import { logLockIfSet, refusal, type Reservation } from '../throttle/throttle';
import { clearedBudget, readUserReservation, userReservationStatement } from '../throttle/user-throttle';
import { randomId } from '../../crypto/random';
import { checkCode, livePendingSecret } from './totp-secret';
import { recordCodeFailure, recordEvent } from '../events';
import { passkeyCount, passkeyExists, secondFactorActive } from '../factors';

export interface Verified extends SessionTokens {
  /** Present when this call confirmed an enrollment. */
  recoveryCodes?: string[];
}

/**
 * `verify`: /otp-verify, which promotes the presented password-only session to
 * a full one (or, with a full token, opens a new one and retires it). `reauthenticate`: a full session proves its factor again and
 * is renewed in place (a fresh auth_time, the next refresh generation).
 */
export type Purpose = 'verify' | 'reauthenticate';

type Target = { kind: 'active'; sealed: string } | { kind: 'pending'; sealed: string };

/**
 * Which secret a code is checked against (API.md): a password-only token
 * checks the active secret if there is one, else the pending one; a full token
 * confirms a pending re-enrollment.
 */
function chooseTarget(auth: AuthContext, now: number, purpose: Purpose): Target {
  const { user } = auth;
  if (purpose === 'reauthenticate') {
    if (user.totpSecret) return { kind: 'active', sealed: user.totpSecret };
    throw new ApiError('mfa_not_enrolled');
  }
  const pending = livePendingSecret(user, now, auth.sessionId);
  if (!auth.authorized) {
    if (user.totpSecret) return { kind: 'active', sealed: user.totpSecret };
    // A passkey is active: a password alone must not add a TOTP factor beside it.
    if (auth.passkeyCount > 0) throw new ApiError('mfa_already_enabled');
    if (pending) return { kind: 'pending', sealed: pending };
    throw new ApiError('mfa_not_enrolled');
  }
  if (pending) return { kind: 'pending', sealed: pending };
  throw new ApiError(user.totpSecret ? 'no_pending_enrollment' : 'mfa_not_enrolled');
}

/**
 * The SQL twin of chooseTarget (and, for recovery codes, of "MFA is active"):
 * true when the presented session is live and has something to check a code
 * against. The reservation is guarded by it, so a dead session or a request
 * answered 409/404 never spends the account's budget.
 */
function liveSessionWithTarget(claims: TokenClaims, now: number, idleSeconds: number, proof: 'code' | 'recoveryCode', purpose: Purpose): SQL {
  const pendingLive = sql`(${users.pendingSecret} IS NOT NULL AND ${users.pendingExpiresAt} > ${now} AND ${users.pendingSessionId} = ${claims.sid})`;
  const target =
    proof === 'recoveryCode'
      ? secondFactorActive(claims.sub)
      : purpose === 'reauthenticate'
      ? sql`${users.totpSecret} IS NOT NULL`
      : sql`((${sessions.authorized} = 0 AND (${users.totpSecret} IS NOT NULL OR ${pendingLive})) OR (${sessions.authorized} = 1 AND ${pendingLive}))`;
  return sql`EXISTS (SELECT 1 FROM ${sessions} JOIN ${users} ON ${users.id} = ${sessions.userId}
    WHERE ${sessions.id} = ${claims.sid} AND ${sessions.userId} = ${claims.sub} AND ${sessionLive(now, idleSeconds)}
    AND ${sessions.authorized} = ${claims.authorized ? 1 : 0} AND ${target})`;
}

/**
 * /otp-verify's first round trip: the session read and the attempt's
 * reservation in one db.batch(), the reservation guarded by the same session
 * and target. One D1 round trip fewer than reading, then reserving; the
 * reservation still comes before the guess is looked at.
 */
async function authenticateAndReserve(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  now: number,
  proof: 'code' | 'recoveryCode',
  purpose: Purpose,
): Promise<{ auth: AuthContext; target: Target | null; reservation: Reservation }> {
  // Two single-table reads rather than a JOIN: in a batch D1 names a row's
  // values by column, and a plain JOIN's duplicates (id, created_at) would
  // collide. The middleware's prebuilt `liveSessionRead` selects prefixed names
  // instead; it serves /webauthn/login/verify, whose batch is all prebuilt, and
  // would serve here once this batch is prebuilt too.
  const [reserved, sessionRows, userRows] = await db.batch([
    userReservationStatement(db, 'otp', claims.sub, now, liveSessionWithTarget(claims, now, settings.sessionIdleSeconds, proof, purpose), proof === 'code' ? 'totp' : 'other'),
    db.select().from(sessions).where(and(eq(sessions.id, claims.sid), sessionLive(now, settings.sessionIdleSeconds))).limit(1),
    db
      .select({ user: users, recoveryCodesRemaining: unusedRecoveryCodeCount(users.id), passkeyCount: passkeyCount(claims.sub) })
      .from(users)
      .where(eq(users.id, claims.sub))
      .limit(1),
  ]);
  const [session] = sessionRows;
  const [row] = userRows;
  const auth = toAuthContext(session && row ? { session, ...row } : undefined, claims, purpose === 'reauthenticate' ? 'full' : 'any');
  let target: Target | null = null;
  if (proof === 'code') target = chooseTarget(auth, now, purpose);
  else if (!auth.user.totpSecret && auth.passkeyCount === 0) throw new ApiError('mfa_not_enrolled');
  const reservation = await readUserReservation(db, 'otp', auth.user.id, reserved, now, proof === 'code' ? 'totp' : 'other');
  if (!reservation.ok) throw refusal(reservation, auth.user.id, 'otp');
  return { auth, target, reservation };
}

/**
 * How a proven factor is committed: the batch's first statement (carrying the
 * proof's guard), the marker that later statements test, and the full
 * session the tokens are issued for.
 */
export interface Opening {
  first: (guard: SQL) => BatchItem<'sqlite'>;
  won: SQL;
  /** Retires the presented session when a new one replaces it. */
  retire: BatchItem<'sqlite'>[];
  session: NewSession;
  /** How a retried commit tells that its first attempt landed (commit-retry.ts); null: not retried. */
  landed: Landed | null;
}

/**
 * /otp-verify with a full token (a re-enrollment confirmed): a new full
 * session, only while the presented session is still live at commit time (a
 * logout or a concurrent success already retired it), and the presented one
 * retired.
 */
function openNewSession(db: Db, settings: Settings, auth: AuthContext, now: number, amr: AuthMethods, client: ClientInfo): Opening {
  const session = newSession(settings, auth.user.id, true, now, amr, client);
  const won = sessionExists(session.id);
  return {
    first: (guard) => insertSessionIf(db, session, and(guard, sessionIsLive(auth.sessionId, now, settings.sessionIdleSeconds))!),
    won,
    retire: [revokeSession(db, auth.sessionId, now, won)],
    session,
    landed: { sessionId: session.id },
  };
}

/**
 * The second step of a login (/otp-verify, a recovery code, a passkey, a first
 * enrollment): the password-only session row becomes the full session in place,
 * by one UPDATE guarded on it being still password-only and live. Its columns
 * are those a new full session would have (API.md: a session begins when a
 * second factor is verified), generation 0 included, and a `commit_id` chosen
 * before the batch that the later statements test. So a logout that landed
 * first, or a concurrent success with another valid code (two steps of the
 * window, two recovery codes, a passkey), leaves this one nothing to promote:
 * one password-only session never becomes two full ones. The password-only
 * token keeps naming the row, and is refused there from now on: its
 * `authorized: false` no longer matches the row (session-lookup.ts), and the
 * full-token routes take access tokens only.
 */
function promoteSession(db: Db, settings: Settings, auth: AuthContext, now: number, amr: AuthMethods, client: ClientInfo): Opening {
  const session = promotedSession(settings, auth, now, amr, client);
  const values = promotionValues(session, auth.user.id, now, now - settings.sessionIdleSeconds);
  return {
    first: (guard) => promotionUpdate(db, values, guard),
    won: promotedBy(session.id, values.commitId),
    retire: [],
    session,
    landed: { sessionId: session.id, commitId: values.commitId },
  };
}

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
 * /reauthenticate: the same session, renewed by a compare-and-swap on its
 * refresh generation, so of two concurrent proofs only one renews it and a
 * refresh landing meanwhile makes this one lose (and vice versa).
 */
function renewSession(db: Db, settings: Settings, auth: AuthContext, now: number, amr: AuthMethods): Opening {
  const session = renewedSession(settings, auth, now, amr);
  const values = renewalValues(session, auth.session.generation, now, now - settings.sessionIdleSeconds);
  return {
    first: (guard) => renewalUpdate(db, values, guard),
    won: promotedBy(session.id, values.commitId),
    retire: [],
    session,
    landed: null,
  };
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
    amr: amr.join(' '),
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
      generation: sql`${v.generation}`,
      rotatedAt: sql`${v.rotatedAt}`,
      lastUsedAt: sql`${v.lastUsedAt}`,
      commitId: sql`${v.commitId}`,
    })
    .where(and(eq(sessions.id, v.sid), eq(sessions.generation, v.previousGeneration), sessionLiveAt(v.now, v.idleCutoff), guard));
}

export function opening(db: Db, settings: Settings, auth: AuthContext, purpose: Purpose, now: number, amr: AuthMethods, client: ClientInfo): Opening {
  if (purpose === 'reauthenticate') return renewSession(db, settings, auth, now, amr);
  return auth.authorized ? openNewSession(db, settings, auth, now, amr, client) : promoteSession(db, settings, auth, now, amr, client);
}

/**
 * /otp-verify and /reauthenticate with a bearer token whose claims are
 * verified but whose session is not yet read.
 */
export async function verifySecondFactor(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  proof: { code: string } | { recoveryCode: string },
  now: number,
  { purpose = 'verify', client = { userAgent: null, ip: null } }: { purpose?: Purpose; client?: ClientInfo } = {},
): Promise<Verified> {
  if ('code' in proof) {
    const { auth, target, reservation } = await authenticateAndReserve(db, settings, claims, now, 'code', purpose);
    return verifyCode(db, settings, auth, target!, reservation, proof.code, now, purpose, client);
  }
  const { auth, reservation } = await authenticateAndReserve(db, settings, claims, now, 'recoveryCode', purpose);
  return verifyRecoveryCode(db, settings, auth, reservation, proof.recoveryCode, now, purpose, client);
}

/**
 * Checks a TOTP code and, in one db.batch() (one transaction), records the
 * matched step (clearing the code budget in the same UPDATE) and makes the
 * full session (`opening`). The first statement promotes (or inserts) the
 * session only if the step is newer than any accepted before (RFC 6238 §5.2)
 * and the secret is still the one checked; every later statement is
 * conditional on it, so a replay, or the loser of two simultaneous requests
 * with one code, changes nothing.
 */
async function verifyCode(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  target: Target,
  reservation: Reservation,
  code: string,
  now: number,
  purpose: Purpose,
  client: ClientInfo,
): Promise<Verified> {
  const { user } = auth;
  const failure = { userId: user.id, sessionId: auth.sessionId, client };
  const step = await checkCode(settings, user.id, target.sealed, code, now);
  if (step === null) {
    logEvent('code_failed', { userId: user.id, reason: target.kind });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  const { first, won, retire, session, landed } = opening(db, settings, auth, purpose, now, ['pwd', 'otp'], client);
  const recoveryCodes = target.kind === 'pending' ? generateRecoveryCodes() : undefined;
  const guard =
    target.kind === 'active'
      ? sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.totpSecret} = ${target.sealed} AND ${users.totpLastStep} < ${step})`
      : sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.pendingSecret} = ${target.sealed} AND ${users.pendingExpiresAt} > ${now} AND ${users.pendingSessionId} = ${auth.sessionId})
          AND (${auth.authorized ? 1 : 0} = 1 OR NOT ${passkeyExists(user.id)})`;
  const commit =
    target.kind === 'active'
      ? // The success clears the code budget in the same UPDATE: no statement of its own.
        db.update(users).set({ totpLastStep: step, ...clearedBudget('otp') }).where(and(eq(users.id, user.id), lt(users.totpLastStep, step), won))
      : // The swap: the confirmed secret becomes the active one, with the
        // enrollment code's step already spent.
        db
          .update(users)
          .set({ totpSecret: target.sealed, totpLastStep: step, pendingSecret: null, pendingExpiresAt: null, pendingSessionId: null, ...clearedBudget('otp') })
          .where(and(eq(users.id, user.id), won));
  const afterEnrollment = recoveryCodes
    ? [
        ...(await replaceRecoveryCodes(db, settings.recoveryKey, user.id, recoveryCodes, now, won)),
        // A re-enrollment logs out every other device that knew the old factor.
        revokeUserSessions(db, user.id, now, { keepSessionId: session.id, guard: won }),
      ]
    : [];
  const committed = await commitGuardedBatch(
    db,
    [
      first(guard),
      commit,
      ...retire,
      ...afterEnrollment,
      recordEvent(
        db,
        target.kind === 'pending' ? 'enrollment_confirmed' : purpose === 'verify' ? 'mfa_verified' : 'reauthenticated',
        { userId: user.id, sessionId: session.id, client },
        now,
        won,
      ),
    ],
    // /otp-verify's session id and commit id exist before the batch, so its commit may be retried.
    landed,
  );
  if (!committed) {
    logEvent('replay_refused', { userId: user.id, reason: target.kind });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  logEvent(target.kind === 'pending' ? 'enrollment_confirmed' : purpose === 'verify' ? 'mfa_verified' : 'reauthenticated', { userId: user.id, sessionId: session.id });
  const issued = await issueSessionTokens(db, settings, user, session, now);
  return recoveryCodes ? { ...issued, recoveryCodes } : issued;
}

/** A recovery code in place of a TOTP code: same budget, each code good once. */
async function verifyRecoveryCode(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  reservation: Reservation,
  normalized: string,
  now: number,
  purpose: Purpose,
  client: ClientInfo,
): Promise<Verified> {
  const { user } = auth;
  const failure = { userId: user.id, sessionId: auth.sessionId, client };
  const codeId = await findRecoveryCode(db, settings.recoveryKey, user.id, normalized);
  if (!codeId) {
    logEvent('code_failed', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  const { first, won, retire, session, landed } = opening(db, settings, auth, purpose, now, ['pwd', 'rec'], client);
  const committed = await commitGuardedBatch(
    db,
    [
      first(unusedRecoveryCodeExists(codeId)),
      markRecoveryCodeUsed(db, codeId, now, won),
      ...retire,
      // A recovery code clears the code budget, the factor lock included (API.md).
      db.update(users).set(clearedBudget('otp')).where(and(eq(users.id, user.id), won)),
      recordEvent(db, 'recovery_code_used', { userId: user.id, sessionId: session.id, client }, now, won),
    ],
    landed,
  );
  if (!committed) {
    logEvent('replay_refused', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  logEvent('recovery_code_used', { userId: user.id, sessionId: session.id });
  return issueSessionTokens(db, settings, user, session, now);
}
