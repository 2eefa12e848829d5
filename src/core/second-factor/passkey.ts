/**
 * A passkey as the second factor (WebAuthn L3 §7.2): at the second step of a login
 * (the password-only session is promoted to a full one in place, amr ["pwd","pop"]) and at
 * /reauthenticate (a full session renewed in place). The same promotion and renewal
 * UPDATEs as a TOTP code (src/core/second-factor/code.ts `promotionUpdate`, `renewalUpdate`), here
 * prebuilt and guarded by the challenge, which the batch burns.
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { batchPrebuilt, prebuilt, prefixedColumns } from '../../db/prebuilt';
import { sessions, webauthnChallenges, webauthnCredentials } from '../../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { Settings } from '../../settings';
import type { TokenClaims } from '../../tokens/jwt';
import { parseAuthenticationResponse, requestOptions, verifyAuthentication, type RequestOptionsJSON } from '../../webauthn';
import { challengeBytes, challengeLive, challengeMatches, credentialsOf, deleteChallenge, descriptorOf, issueChallenge, storedCredentialOf, userHandleOf, type ChallengePurpose } from './passkey-store';
import { authenticate, liveSessionOf, toAuthContext, type AuthContext } from '../sessions/lookup';
import { sessionLiveAt, type ClientInfo } from '../sessions/store';
import { issueSessionTokens, type SessionTokens } from '../sessions/tokens';
import { lockedError, logLockIfSet, readReservation, reservationStatement, resetThrottle, type Reservation } from '../throttle/throttle';
import { EVENT_VALUES, eventInsert, eventValues, lockedEventIfSet, recordEvent, type EventSource } from '../events';
import type { BatchItem } from 'drizzle-orm/batch';
import { promotedBy, promotedSession, promotionUpdate, promotionValues, PROMOTION_VALUES, renewalUpdate, renewalValues, renewedSession, RENEWAL_VALUES } from '../sessions/promotion';
import { parseAuthData } from '../../webauthn/authenticator-data';
import { parseClientData } from '../../webauthn/client-data';
import type { AuthenticationResponse } from '../../webauthn';

/**
 * The parts that do not parse (clientDataJSON, authenticatorData) make a malformed body,
 * checked before an attempt is reserved: a 400 is not a guess and costs no budget.
 */
export function wellFormed(response: AuthenticationResponse): boolean {
  const authData = parseAuthData(response.authenticatorData);
  return parseClientData(response.clientDataJSON) !== null && authData !== null && authData.credential === null;
}

/** Options for get(): this user's passkeys only. A full session gets a step-up challenge. */
export async function assertionOptions(db: Db, settings: Settings, auth: AuthContext, now: number): Promise<{ challengeId: string; publicKey: RequestOptionsJSON }> {
  const credentials = await credentialsOf(db, auth.user.id);
  if (credentials.length === 0) throw new ApiError('mfa_not_enrolled', { message: 'This account has no passkey.' });
  const purpose: ChallengePurpose = auth.authorized ? 'reauthenticate' : 'login';
  const issued = await issueChallenge(db, { sessionId: auth.sessionId, userId: auth.user.id, purpose }, now);
  return {
    challengeId: issued.id,
    publicKey: requestOptions({ rpId: settings.webauthn.rpId, challenge: issued.challenge, allowCredentials: credentials.map(descriptorOf) }),
  };
}

function refused(reason: string, userId: string): ApiError {
  logEvent('passkey_refused', { userId, reason });
  return new ApiError('invalid_code', { message: 'The passkey was refused, or its challenge was already used or has expired.' });
}

/**
 * A refused assertion that spent an attempt of the passkey budget: `passkey_refused`
 * in the owner's log, and `locked` if this failure set the passkey lock, in one batch
 * with the challenge's burning (`spend`), as a wrong code leaves `code_failed`.
 */
async function refusedAndRecorded(db: Db, reservation: Reservation, source: EventSource, now: number, reason: string, spend: BatchItem<'sqlite'>[]): Promise<ApiError> {
  const pop = { ...source, method: 'pop' as const };
  logLockIfSet(reservation, source.userId, 'webauthn');
  await db.batch([recordEvent(db, 'passkey_refused', pop, now), ...lockedEventIfSet(db, reservation, pop, now), ...spend]);
  return refused(reason, source.userId);
}

/** The presented session is live, of this user and kind, and holds the challenge: only then is an attempt reserved. */
function liveSessionWithChallenge(p: Record<'sid' | 'sub' | 'authorized' | 'challengeId' | 'purpose' | 'now' | 'idleCutoff', Placeholder>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${p.sid} AND ${sessions.userId} = ${p.sub}
    AND ${sessionLiveAt(p.now, p.idleCutoff)} AND ${sessions.authorized} = ${p.authorized})
    AND ${challengeLive(p.challengeId, p.sid, p.purpose, p.now)}`;
}

/*
 * The statements of both round trips, built once per isolate (src/db/prebuilt.ts):
 * in a profile of this route, drizzle building their SQL on every request was a
 * third of the isolate's time.
 */
const reserveAttempt = prebuilt(['sid', 'sub', 'authorized', 'challengeId', 'purpose', 'now', 'idleCutoff'], (db, p) =>
  reservationStatement(db, 'webauthn', p.sub, p.now, liveSessionWithChallenge(p)),
);
/**
 * The challenge, and beside it the presented credential if it is this user's
 * (§7.2 steps 5-6): one statement. Without such a credential its columns are
 * null (a LEFT JOIN); without the challenge there is no row.
 */
const challengeAndCredentialRead = prebuilt(['challengeId', 'sid', 'purpose', 'now', 'credentialId', 'userId'], (db, p) =>
  db
    .select({ challenge: prefixedColumns(webauthnChallenges, 'c_'), credential: prefixedColumns(webauthnCredentials, 'k_') })
    .from(webauthnChallenges)
    .leftJoin(webauthnCredentials, and(eq(webauthnCredentials.id, p.credentialId), eq(webauthnCredentials.userId, p.userId)))
    .where(challengeMatches(p.challengeId, p.sid, p.purpose, p.now))
    .limit(1),
);

/** The commit's guard besides the session's: the challenge is unspent, and (§7.2 step 26) the counter is the one read. */
const COMMIT_GUARD = ['challengeId', 'purpose', 'credentialId', 'storedSignCount'] as const;
function commitGuard(p: Record<'sid' | 'userId' | 'now' | (typeof COMMIT_GUARD)[number], Placeholder>): SQL {
  return sql`${challengeLive(p.challengeId, p.sid, p.purpose, p.now)} AND EXISTS (SELECT 1 FROM ${webauthnCredentials}
    WHERE ${webauthnCredentials.id} = ${p.credentialId} AND ${webauthnCredentials.userId} = ${p.userId} AND ${webauthnCredentials.signCount} = ${p.storedSignCount})`;
}
const promotion = prebuilt([...PROMOTION_VALUES, ...COMMIT_GUARD], (db, p) => promotionUpdate(db, p, commitGuard(p)));
const renewal = prebuilt([...RENEWAL_VALUES, ...COMMIT_GUARD, 'userId'], (db, p) => renewalUpdate(db, p, commitGuard(p)));
const counterUpdate = prebuilt(['credentialId', 'storedSignCount', 'signCount', 'backupState', 'userVerified', 'now', 'sid', 'commitId'], (db, p) =>
  db
    .update(webauthnCredentials)
    .set({ signCount: sql`${p.signCount}`, backupState: sql`${p.backupState}`, userVerified: sql`${p.userVerified}`, lastUsedAt: sql`${p.now}` })
    .where(and(eq(webauthnCredentials.id, p.credentialId), eq(webauthnCredentials.signCount, p.storedSignCount), promotedBy(p.sid, p.commitId))),
);
const challengeSpent = prebuilt(['challengeId', 'sid'], (db, p) => deleteChallenge(db, p.challengeId, p.sid));
// Only the passkey budget is reset: a passkey never unlocks the code or password budgets.
const budgetReset = prebuilt(['userId', 'sid', 'commitId'], (db, p) => resetThrottle(db, 'webauthn', p.userId, promotedBy(p.sid, p.commitId)));
// `mfa_verified` or `reauthenticated` (method `pop`) in the owner's log: only if this commit's promotion or renewal landed.
const verifiedEvent = prebuilt([...EVENT_VALUES, 'sid', 'commitId'], (db, p) => eventInsert(db, p, promotedBy(p.sid, p.commitId)));

/**
 * /webauthn/login/verify (`login`) and /reauthenticate with `webauthn` (`reauthenticate`).
 * Round trip one: the session, the user, the challenge and the credential read, and an
 * attempt reserved from the passkey budget (`webauthn:<user id>`, never the code's or the
 * password's), in one batch. Round trip two: the commit.
 */
export async function verifyPasskey(
  db: Db,
  settings: Settings,
  claims: TokenClaims,
  input: { challengeId: string; response: unknown },
  now: number,
  { purpose, client = { userAgent: null, ip: null } }: { purpose: 'login' | 'reauthenticate'; client?: ClientInfo },
): Promise<SessionTokens> {
  const idle = settings.sessionIdleSeconds;
  const parsed = parseAuthenticationResponse(input.response);
  if (!parsed.ok || !wellFormed(parsed.response)) {
    // API.md order of checks: a dead session is 401 before a bad body is 400.
    await authenticate(db, claims, purpose === 'reauthenticate' ? 'full' : 'any', now, idle);
    throw new ApiError('validation_failed', { issues: [{ path: 'response', message: 'is not a WebAuthn authentication response' }] });
  }
  const credentialId = encodeBase64urlNoPadding(parsed.response.rawId);
  const idleCutoff = now - idle;
  const [reserved, [row], [read]] = await batchPrebuilt(db, [
    reserveAttempt(db, { sid: claims.sid, sub: claims.sub, authorized: claims.authorized ? 1 : 0, challengeId: input.challengeId, purpose, now, idleCutoff }),
    liveSessionOf(db, claims, now, idle),
    challengeAndCredentialRead(db, { challengeId: input.challengeId, sid: claims.sid, purpose, now, credentialId, userId: claims.sub }),
  ]);
  const auth = toAuthContext(row, claims, purpose === 'reauthenticate' ? 'full' : 'any');
  const { user } = auth;
  const challenge = read?.challenge;
  // A challenge of another session, purpose (a registration one), expired or spent.
  if (!challenge || (purpose === 'login') === auth.authorized) {
    await deleteChallenge(db, input.challengeId, auth.sessionId);
    throw refused('challenge_unknown', user.id);
  }
  const reservation = await readReservation(db, 'webauthn', user.id, reserved, now);
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user.id, 'webauthn');
  const source: EventSource = { userId: user.id, sessionId: auth.sessionId, client };
  const credentialRow = read.credential.id === null ? undefined : read.credential;
  // Another user's credential, or one not registered (§7.2 steps 5-6).
  if (!credentialRow) {
    throw await refusedAndRecorded(db, reservation, source, now, 'credential_not_allowed', [deleteChallenge(db, challenge.id, auth.sessionId)]);
  }
  const stored = storedCredentialOf(credentialRow);
  const result = await verifyAuthentication(parsed.response, {
    challenge: challengeBytes(challenge),
    rpId: settings.webauthn.rpId,
    origins: settings.webauthn.origins,
    allowCredentialIds: [stored.id],
    userHandle: userHandleOf(user.id),
    credential: stored,
  });
  if (!result.ok) {
    throw await refusedAndRecorded(db, reservation, source, now, result.reason, [deleteChallenge(db, challenge.id, auth.sessionId)]);
  }
  const guard = { challengeId: challenge.id, purpose, credentialId: credentialRow.id, storedSignCount: credentialRow.signCount };
  const opened = purpose === 'login' ? promotedSession(settings, auth, now, ['pwd', 'pop'], client) : renewedSession(settings, auth, now, ['pwd', 'pop']);
  const first =
    purpose === 'login'
      ? promotion(db, { ...promotionValues(opened, user.id, now, idleCutoff), ...guard })
      : renewal(db, { ...renewalValues(opened, auth.session.generation, now, idleCutoff), ...guard, userId: user.id });
  const won = { sid: opened.id, commitId: opened.commitId };
  const [committed] = await batchPrebuilt(db, [
    first,
    counterUpdate(db, {
      credentialId: credentialRow.id,
      storedSignCount: credentialRow.signCount,
      signCount: result.signCount,
      backupState: result.backupState ? 1 : 0,
      userVerified: result.userVerified ? 1 : 0,
      now,
      ...won,
    }),
    challengeSpent(db, { challengeId: challenge.id, sid: auth.sessionId }),
    budgetReset(db, { userId: user.id, ...won }),
    verifiedEvent(db, { ...eventValues(purpose === 'login' ? 'mfa_verified' : 'reauthenticated', { userId: user.id, sessionId: opened.id, client, method: 'pop' }, now), ...won }),
  ]);
  if (committed.meta.changes !== 1) {
    logEvent('replay_refused', { userId: user.id, reason: 'webauthn' });
    throw await refusedAndRecorded(db, reservation, source, now, 'replay', []);
  }
  logEvent(purpose === 'login' ? 'mfa_verified' : 'reauthenticated', { userId: user.id, sessionId: opened.id, reason: 'webauthn' });
  if (result.counterRegressed) logEvent('passkey_counter_regressed', { userId: user.id, sessionId: opened.id, reason: purpose });
  return issueSessionTokens(db, settings, user, opened, now);
}
