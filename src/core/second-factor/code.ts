import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import type { BatchItem } from 'drizzle-orm/batch';
import { sessions, users, type UserRow } from '../../db/schema';
import type { Settings } from '../../settings';
import type { TokenClaims } from '../../tokens/jwt';
import { ApiError } from '../errors';
import { recordCodeFailure, recordEvent } from '../events';
import { passkeyCount, passkeyExists, secondFactorActive } from '../factors';
import { logEvent } from '../log';
import { findRecoveryCode, generateRecoveryCodes, markRecoveryCodeUsed, replaceRecoveryCodes, unusedRecoveryCodeCount, unusedRecoveryCodeExists } from '../recovery-codes';
import { commitGuardedBatchResults } from '../sessions/commit-retry';
import { toAuthContext, type AuthContext } from '../sessions/lookup';
import { opening, type Purpose } from '../sessions/opening';
import { revokeUserSessions, sessionLive, type ClientInfo, type NewSession } from '../sessions/store';
import { issueSessionTokens, type SessionTokens } from '../sessions/tokens';
import { logLockIfSet, refusal, type Reservation } from '../throttle/throttle';
import { clearedBudget, readUserReservation, userReservationStatement } from '../throttle/user-throttle';
import { checkCode, livePendingSecret } from './totp-secret';

/**
 * Proving a second factor with a TOTP code or a recovery code: /otp-verify
 * (the login's second step, or confirming an enrollment) and /reauthenticate
 * (step-up). Shared by the totp and sessions features, so it lives in core.
 */

export interface Verified extends SessionTokens {
  /** Present when this call confirmed an enrollment. */
  recoveryCodes?: string[];
}

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

/** What a proof committed: the full session (promoted, opened or renewed) and, for an enrollment, its recovery codes. */
export interface Proven {
  user: UserRow;
  session: NewSession;
  recoveryCodes?: string[];
  /** The results of `also`'s statements, when this request's answer carried them (null otherwise). */
  also: unknown[] | null;
}

/** Statements after the commit's own, each conditional on `won` (the proof's first statement landed); not for an enrollment. */
export type CommitAlso = (won: SQL, session: NewSession) => BatchItem<'sqlite'>[];

interface ProofOptions {
  purpose?: Purpose;
  client?: ClientInfo;
  also?: CommitAlso;
}

/** /otp-verify and /reauthenticate with a bearer token whose claims are verified but whose session is not yet read. */
export async function verifySecondFactor(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  proof: { code: string } | { recoveryCode: string },
  now: number,
  options: ProofOptions = {},
): Promise<Verified> {
  const proven = await proveSecondFactor(db, settings, claims, proof, now, options);
  const issued = await issueSessionTokens(db, settings, proven.user, proven.session, now);
  return proven.recoveryCodes ? { ...issued, recoveryCodes: proven.recoveryCodes } : issued;
}

/** The proof and its commit, without the JSON API's tokens (the provider's hosted pages issue none). */
export async function proveSecondFactor(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  proof: { code: string } | { recoveryCode: string },
  now: number,
  { purpose = 'verify', client = { userAgent: null, ip: null }, also }: ProofOptions = {},
): Promise<Proven> {
  if ('code' in proof) {
    const { auth, target, reservation } = await authenticateAndReserve(db, settings, claims, now, 'code', purpose);
    return verifyCode(db, settings, auth, target!, reservation, proof.code, now, purpose, client, also);
  }
  const { auth, reservation } = await authenticateAndReserve(db, settings, claims, now, 'recoveryCode', purpose);
  return verifyRecoveryCode(db, settings, auth, reservation, proof.recoveryCode, now, purpose, client, also);
}

/** The results of the last `count` statements, if the batch's answer came back. */
const tail = (results: unknown[] | null, count: number) => (count > 0 && results ? results.slice(-count) : null);

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
  also?: CommitAlso,
): Promise<Proven> {
  const { user } = auth;
  const failure = { userId: user.id, sessionId: auth.sessionId, client, method: 'otp' as const };
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
  const extra = recoveryCodes || !also ? [] : also(won, session);
  const committed = await commitGuardedBatchResults(
    db,
    [
      first(guard),
      commit,
      ...retire,
      ...afterEnrollment,
      recordEvent(
        db,
        target.kind === 'pending' ? 'enrollment_confirmed' : purpose === 'verify' ? 'mfa_verified' : 'reauthenticated',
        { userId: user.id, sessionId: session.id, client, method: 'otp' },
        now,
        won,
      ),
      ...extra,
    ],
    // /otp-verify's session id and commit id exist before the batch, so its commit may be retried.
    landed,
  );
  if (!committed.won) {
    logEvent('replay_refused', { userId: user.id, reason: target.kind });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  logEvent(target.kind === 'pending' ? 'enrollment_confirmed' : purpose === 'verify' ? 'mfa_verified' : 'reauthenticated', { userId: user.id, sessionId: session.id });
  return { user, session, ...(recoveryCodes ? { recoveryCodes } : {}), also: tail(committed.results, extra.length) };
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
  also?: CommitAlso,
): Promise<Proven> {
  const { user } = auth;
  const failure = { userId: user.id, sessionId: auth.sessionId, client, method: 'rec' as const };
  const codeId = await findRecoveryCode(db, settings.recoveryKey, user.id, normalized);
  if (!codeId) {
    logEvent('code_failed', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  const { first, won, retire, session, landed } = opening(db, settings, auth, purpose, now, ['pwd', 'rec'], client);
  const extra = also ? also(won, session) : [];
  const committed = await commitGuardedBatchResults(
    db,
    [
      first(unusedRecoveryCodeExists(codeId)),
      markRecoveryCodeUsed(db, codeId, now, won),
      ...retire,
      // A recovery code clears the code budget, the factor lock included (API.md).
      db.update(users).set(clearedBudget('otp')).where(and(eq(users.id, user.id), won)),
      recordEvent(db, 'recovery_code_used', { userId: user.id, sessionId: session.id, client, method: 'rec' }, now, won),
      ...extra,
    ],
    landed,
  );
  if (!committed.won) {
    logEvent('replay_refused', { userId: user.id, reason: 'recovery_code' });
    logLockIfSet(reservation, user.id, 'otp');
    await recordCodeFailure(db, reservation, failure, now);
    throw new ApiError('invalid_code');
  }
  logEvent('recovery_code_used', { userId: user.id, sessionId: session.id });
  return { user, session, also: tail(committed.results, extra.length) };
}
