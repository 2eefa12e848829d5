/**
 * Passwordless sign-in with a discoverable passkey (issue 21; WebAuthn L3 §7.2 with the
 * user identified by the ceremony, not before it). A passkey that verified its user (UV)
 * is a multi-factor cryptographic authenticator (NIST SP 800-63B-4): the new full
 * session records amr ["pop","mfa"] and acr `phrh` (device-bound: not backup eligible, BE = 0) or `phr` (BE = 1, synced or syncable).
 *
 * Round trip one, at once on the primary and on the user's shard (one batch when they are
 * one database): the network's lock read, the credential's budget reserved, the challenge
 * spent, the credential read. A refusal adds one failure to the network's budget. Then the
 * signature is checked, against a dummy key when there is no such credential, so every
 * refusal does the same work. Round trip two: the commit, guarded on the counter read.
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomId } from '../../crypto/random';
import type { Db } from '../../db/client';
import { batchPrebuilt } from '../../db/prebuilt';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import { wellFormed } from '../second-factor/passkey';
import { storedCredentialOf, userHandleOf } from '../second-factor/passkey-store';
import { credentialBudgetSubject } from './budget';
import { newSession, type ClientInfo } from '../sessions/store';
import { issueSessionTokens, type SessionTokens } from '../sessions/tokens';
import { grantedReservation, lockedError, logLockIfSet, readReservation } from '../throttle/throttle';
import type { Settings } from '../../settings';
import { discoverableRequestOptions, parseAuthenticationResponse, verifyAuthentication, type DiscoverableRequestOptionsJSON } from '../../webauthn';
import { issueSigninChallenge, readSigninChallenge } from './challenge';
import {
  challengeSpend,
  counterUpdate,
  credentialBudgetReset,
  credentialRead,
  credentialReservation,
  networkFailure,
  networkLock,
  sessionInsert,
  signinEvent,
} from './statements';
import { dummyCredential } from './dummy';

/** A passwordless sign-in's result: the new full session's tokens, and the session (the provider's pages keep it as theirs). */
export interface SignedIn {
  tokens: SessionTokens;
  sessionId: string;
  userId: string;
}

/** Where the request's rows are: the primary (budgets, challenges) and the shard a user id names (null: none). */
export interface SigninDbs {
  primary: Db;
  ofUser(userId: string): Db | null;
}

/**
 * Work done per verify, for the tests that show an unknown credential costs what a known
 * one does (counted, not timed): assertions whose signature was checked.
 */
export const signinWork = { signatureChecks: 0 };

export async function signinOptions(settings: Settings, now: number): Promise<{ challengeId: string; publicKey: DiscoverableRequestOptionsJSON }> {
  const issued = await issueSigninChallenge(settings.signinChallengeKey, now);
  return { challengeId: issued.challengeId, publicKey: discoverableRequestOptions({ rpId: settings.webauthn.rpId, challenge: issued.challenge }) };
}

const REFUSED_MESSAGE = 'The passkey was not accepted, or its challenge was already used or has expired.';

function refused(reason: string, userId?: string): ApiError {
  logEvent('passkey_refused', { userId, reason: `signin:${reason}` });
  return new ApiError('invalid_credentials', { message: REFUSED_MESSAGE });
}

/** The user id a user handle carries (userHandleOf's UTF-8), or null. */
function userIdOf(handle: Uint8Array | null): string | null {
  if (handle === null || handle.length === 0) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(handle);
  } catch {
    return null;
  }
}

export async function signInWithPasskey(
  dbs: SigninDbs,
  settings: Settings,
  input: { challengeId: string; response: unknown },
  now: number,
  client: ClientInfo,
): Promise<SignedIn> {
  const parsed = parseAuthenticationResponse(input.response);
  // A malformed body is not a guess: 400, no budget taken, nothing stored.
  if (!parsed.ok || !wellFormed(parsed.response)) {
    throw new ApiError('validation_failed', { issues: [{ path: 'response', message: 'is not a WebAuthn authentication response' }] });
  }
  const response = parsed.response;
  const credentialId = encodeBase64urlNoPadding(response.rawId);
  const presentedUserId = userIdOf(response.userHandle);
  // The shard comes from the user handle; one that names none reads the primary and finds nothing.
  const userDb = (presentedUserId !== null ? dbs.ofUser(presentedUserId) : null) ?? dbs.primary;
  const sameDb = userDb === dbs.primary;
  const [challenge, credentialKey] = await Promise.all([
    readSigninChallenge(settings.signinChallengeKey, input.challengeId, now),
    credentialBudgetSubject(credentialId),
  ]);
  const networkKey = client.ip ?? 'unknown';
  const onPrimary = [
    networkLock(dbs.primary, { networkKey, now }),
    credentialReservation(dbs.primary, { credentialKey, networkKey, now }),
    challengeSpend(dbs.primary, { challengeId: challenge.challengeId, expiresAt: challenge.expiresAt, live: challenge.live ? 1 : 0, networkKey, now }),
  ] as const;
  const read = credentialRead(userDb, { credentialId, userId: presentedUserId ?? '' });
  const [[networkLocked, credentialRows, spent], found] = sameDb
    ? await batchPrebuilt(dbs.primary, [...onPrimary, read]).then(([a, b, c, d]) => [[a, b, c], d] as const)
    : await Promise.all([batchPrebuilt(dbs.primary, onPrimary), batchPrebuilt(userDb, [read]).then(([rows]) => rows)]);

  const [networkLockedUntil] = networkLocked;
  if (networkLockedUntil) throw lockedError(Math.max(1, networkLockedUntil.lockedUntil - now), undefined, 'pkip');
  const credentialBudget = grantedReservation('pkcred', credentialRows, now) ?? (await readReservation(dbs.primary, 'pkcred', credentialKey, [], now));
  if (!credentialBudget.ok) throw lockedError(credentialBudget.retryAfterSeconds, undefined, 'pkcred');
  const row = found[0];
  const stored = row ? storedCredentialOf(row.credential) : await dummyCredential(response);
  const result = await verifyAuthentication(response, {
    challenge: challenge.challenge,
    rpId: settings.webauthn.rpId,
    origins: settings.webauthn.origins,
    allowCredentialIds: [response.rawId],
    // §7.2 step 6: the handle names the credential's owner (the read required it; checked again here).
    userHandle: row ? userHandleOf(row.credential.userId) : (response.userHandle ?? new Uint8Array()),
    credential: stored,
  });
  if (result.ok || result.reason === 'signature' || result.reason === 'counter') signinWork.signatureChecks += 1;
  const failure = refusalOf({ row: !!row, live: challenge.live, spent: spent.length === 1, result });
  if (failure !== null || !row || !result.ok) {
    // The same statement whatever failed: an unknown credential costs what a known one does.
    const [counted] = await batchPrebuilt(dbs.primary, [networkFailure(dbs.primary, { networkKey, now })]);
    logLockIfSet(credentialBudget, undefined, 'pkcred');
    logLockIfSet(grantedReservation('pkip', counted, now) ?? { ok: true, lockSeconds: 0 }, undefined, 'pkip');
    throw refused(failure ?? 'unreachable', row?.credential.userId);
  }
  return commit(dbs.primary, userDb, settings, { row, result, credentialKey, now, client });
}

/** Why the sign-in is refused, or null. Looked at only after the signature was checked, whatever failed first. */
function refusalOf(c: { row: boolean; live: boolean; spent: boolean; result: Awaited<ReturnType<typeof verifyAuthentication>> }): string | null {
  if (!c.row) return 'unknown_credential';
  if (!c.result.ok) return c.result.reason;
  // §7.2 step 18 with userVerification "required": without UV the passkey is one factor.
  if (!c.result.userVerified) return 'user_verification';
  if (!c.live) return 'challenge_expired';
  if (!c.spent) return 'challenge_spent';
  return null;
}

type Verified = Extract<Awaited<ReturnType<typeof verifyAuthentication>>, { ok: true }>;

async function commit(
  primary: Db,
  userDb: Db,
  settings: Settings,
  c: {
    row: { credential: { id: string; userId: string; signCount: number }; username: string };
    result: Verified;
    credentialKey: string;
    now: number;
    client: ClientInfo;
  },
): Promise<SignedIn> {
  const { row, result, now } = c;
  const userId = row.credential.userId;
  const session = { ...newSession(settings, userId, true, now, ['pop', 'mfa'], c.client), acr: result.backupEligible ? 'phr' : 'phrh' };
  const sameDb = userDb === primary;
  const budgets = (inCommit: 0 | 1) => [credentialBudgetReset(primary, { credentialKey: c.credentialKey, sid: session.id, inCommit })] as const;
  const guard = { credentialId: row.credential.id, storedSignCount: row.credential.signCount };
  const [inserted] = await batchPrebuilt(userDb, [
    sessionInsert(userDb, { ...session, authorized: 1, commitId: null, ...guard }),
    counterUpdate(userDb, { ...guard, signCount: result.signCount, backupState: result.backupState ? 1 : 0, userVerified: 1, now, sid: session.id }),
    signinEvent(userDb, { eventId: randomId(), userId, now, sid: session.id, userAgent: c.client.userAgent, ip: c.client.ip }),
    ...(sameDb ? budgets(1) : []),
  ]);
  if (inserted.meta.changes !== 1) {
    // The counter moved (another sign-in with this credential landed first), or it was removed.
    logEvent('replay_refused', { userId, reason: 'webauthn_signin' });
    throw refused('counter_raced', userId);
  }
  const [tokens] = await Promise.all([
    issueSessionTokens(userDb, settings, { id: userId, username: row.username }, session, now),
    sameDb ? null : batchPrebuilt(primary, budgets(0)),
  ]);
  logEvent('passkey_signin', { userId, sessionId: session.id, reason: session.acr });
  if (result.counterRegressed) logEvent('passkey_counter_regressed', { userId, sessionId: session.id, reason: 'signin' });
  return { tokens, sessionId: session.id, userId };
}
