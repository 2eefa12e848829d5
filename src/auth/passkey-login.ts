/**
 * A passkey as the second factor (WebAuthn L3 §7.2): at the second step of a login
 * (the password-only session is promoted to a full one in place, amr ["pwd","pop"]) and at
 * /reauthenticate (a full session renewed in place). The same commit as a TOTP code
 * (src/auth/verify.ts `opening`), guarded by the challenge, which the batch burns.
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { sessions, users, webauthnCredentials } from '../db/schema';
import { ApiError } from '../errors';
import { logEvent } from '../log';
import type { Settings } from '../settings';
import type { TokenClaims } from '../tokens/jwt';
import { parseAuthenticationResponse, requestOptions, verifyAuthentication, type RequestOptionsJSON } from '../webauthn';
import { passkeyCount } from './factors';
import { challengeBytes, challengeLive, challengeQuery, credentialQuery, credentialsOf, deleteChallenge, descriptorOf, issueChallenge, storedCredentialOf, userHandleOf, type ChallengePurpose } from './passkey-store';
import { unusedRecoveryCodeCount } from './recovery';
import { authenticate, toAuthContext, type AuthContext } from './session-lookup';
import { sessionLive, type ClientInfo } from './sessions';
import { issueSessionTokens, type SessionTokens } from './session-tokens';
import { lockedError, logLockIfSet, readReservation, reservationStatement, resetThrottle } from './throttle';
import { opening } from './verify';
import { parseAuthData } from '../webauthn/authenticator-data';
import { parseClientData } from '../webauthn/client-data';
import type { AuthenticationResponse } from '../webauthn';

/**
 * The parts that do not parse (clientDataJSON, authenticatorData) make a malformed body,
 * checked before an attempt is reserved: a 400 is not a guess and costs no budget.
 */
function wellFormed(response: AuthenticationResponse): boolean {
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

/** The presented session is live, of this user and kind, and holds the challenge: only then is an attempt reserved. */
function liveSessionWithChallenge(claims: TokenClaims, challengeId: string, purpose: ChallengePurpose, now: number, idleSeconds: number): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${claims.sid} AND ${sessions.userId} = ${claims.sub}
    AND ${sessionLive(now, idleSeconds)} AND ${sessions.authorized} = ${claims.authorized ? 1 : 0})
    AND ${challengeLive(challengeId, claims.sid, purpose, now)}`;
}

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
  const [reserved, sessionRows, userRows, challengeRows, credentialRows] = await db.batch([
    reservationStatement(db, 'webauthn', claims.sub, now, liveSessionWithChallenge(claims, input.challengeId, purpose, now, idle)),
    db.select().from(sessions).where(and(eq(sessions.id, claims.sid), sessionLive(now, idle))).limit(1),
    db
      .select({ user: users, recoveryCodesRemaining: unusedRecoveryCodeCount(claims.sub), passkeyCount: passkeyCount(claims.sub) })
      .from(users)
      .where(eq(users.id, claims.sub))
      .limit(1),
    challengeQuery(db, input.challengeId, claims.sid, purpose, now),
    credentialQuery(db, credentialId, claims.sub),
  ]);
  const [session] = sessionRows;
  const [row] = userRows;
  const auth = toAuthContext(session && row ? { session, ...row } : undefined, claims, purpose === 'reauthenticate' ? 'full' : 'any');
  const { user } = auth;
  const [challenge] = challengeRows;
  // A challenge of another session, purpose (a registration one), expired or spent.
  if (!challenge || (purpose === 'login') === auth.authorized) {
    await deleteChallenge(db, input.challengeId, auth.sessionId);
    throw refused('challenge_unknown', user.id);
  }
  const reservation = await readReservation(db, 'webauthn', user.id, reserved, now);
  if (!reservation.ok) throw lockedError(reservation.retryAfterSeconds, user.id, 'webauthn');
  const [credentialRow] = credentialRows;
  // Another user's credential, or one not registered (§7.2 steps 5-6).
  if (!credentialRow) {
    await deleteChallenge(db, challenge.id, auth.sessionId);
    logLockIfSet(reservation, user.id, 'webauthn');
    throw refused('credential_not_allowed', user.id);
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
    await deleteChallenge(db, challenge.id, auth.sessionId);
    logLockIfSet(reservation, user.id, 'webauthn');
    throw refused(result.reason, user.id);
  }
  const { first, won, retire, session: opened } = opening(db, settings, auth, purpose === 'login' ? 'verify' : 'reauthenticate', now, ['pwd', 'pop'], client);
  // §7.2 step 26 by compare-and-swap on the counter read: of two assertions racing with
  // different challenges, one that verified against a stale counter changes nothing.
  const counterUnchanged = sql`EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.id} = ${credentialRow.id}
    AND ${webauthnCredentials.userId} = ${user.id} AND ${webauthnCredentials.signCount} = ${credentialRow.signCount})`;
  const [committed] = await db.batch([
    first(and(challengeLive(challenge.id, auth.sessionId, purpose, now), counterUnchanged)!),
    db
      .update(webauthnCredentials)
      .set({ signCount: result.signCount, backupState: result.backupState, userVerified: result.userVerified, lastUsedAt: now })
      .where(and(eq(webauthnCredentials.id, credentialRow.id), eq(webauthnCredentials.signCount, credentialRow.signCount), won)),
    deleteChallenge(db, challenge.id, auth.sessionId),
    ...retire,
    // Only the passkey budget is reset: a passkey never unlocks the code or password budgets.
    resetThrottle(db, 'webauthn', user.id, won),
  ]);
  if (committed.meta.changes !== 1) {
    logEvent('replay_refused', { userId: user.id, reason: 'webauthn' });
    logLockIfSet(reservation, user.id, 'webauthn');
    throw refused('replay', user.id);
  }
  logEvent(purpose === 'login' ? 'mfa_verified' : 'reauthenticated', { userId: user.id, sessionId: opened.id, reason: 'webauthn' });
  return issueSessionTokens(db, settings, user, opened, now);
}
