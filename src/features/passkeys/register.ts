/**
 * Adding a passkey (WebAuthn L3 §7.1). While no second factor is active it is the
 * first enrollment, like confirming TOTP: a password-only session becomes a new full
 * one, with recovery codes. With a factor active it needs a full token and step-up.
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { and, eq, not } from 'drizzle-orm';
import { PASSKEYS_PER_USER_MAX } from '../../settings/tunables';
import type { Db } from '../../db/client';
import { users, type WebAuthnCredentialRow } from '../../db/schema';
import { ApiError } from '../../core/errors';
import { logEvent } from '../../core/log';
import { passkeyEvent } from '../../core/events';
import type { Settings } from '../../settings';
import { creationOptions, parseRegistrationResponse, verifyRegistration, type CreationOptionsJSON, type VerifiedCredential } from '../../webauthn';
import { hasSecondFactor, secondFactorActive } from '../../core/factors';
import { challengeBytes, challengeLive, challengeQuery, credentialIdFree, credentialsOf, deleteChallenge, descriptorOf, insertCredentialIf, issueChallenge, roomForPasskey, userHandleOf } from '../../core/second-factor/passkey-store';
import { generateRecoveryCodes, replaceRecoveryCodes } from '../../core/recovery-codes';
import type { AuthContext } from '../../core/sessions/lookup';
import { revokeUserSessions, sessionIsLive, type ClientInfo } from '../../core/sessions/store';
import { issueSessionTokens, type SessionTokens } from '../../core/sessions/tokens';
import { requireRecentAuthentication } from '../../core/sessions/step-up';
import { opening } from '../../core/sessions/opening';
import { isoInstant } from '../../core/time';

export interface PasskeyCreated {
  credential: { id: string; name: string; createdAt: string };
  /** Present when this registration completed a first enrollment. */
  enrollment?: SessionTokens & { recoveryCodes: string[] };
}

const DEFAULT_NAME = 'Passkey';

/**
 * API.md: any token while no second factor is active; else a full token whose factor
 * was proven within 300 s. A password alone never adds a factor beside an active one.
 */
function requireMayRegister(auth: AuthContext, now: number): void {
  if (hasSecondFactor(auth.user, auth.passkeyCount) && !auth.authorized) throw new ApiError('mfa_already_enabled');
  if (auth.authorized) requireRecentAuthentication(auth, now);
}

export async function registrationOptions(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  name: string | undefined,
  now: number,
): Promise<{ challengeId: string; publicKey: CreationOptionsJSON }> {
  requireMayRegister(auth, now);
  if (auth.passkeyCount >= PASSKEYS_PER_USER_MAX) {
    throw new ApiError('validation_failed', { message: `An account holds at most ${PASSKEYS_PER_USER_MAX} passkeys; remove one first.` });
  }
  const { user } = auth;
  const existing = await credentialsOf(db, user.id);
  const issued = await issueChallenge(db, { sessionId: auth.sessionId, userId: user.id, purpose: 'register', name }, now);
  const publicKey = creationOptions({
    rpId: settings.webauthn.rpId,
    rpName: settings.webauthn.rpName,
    userId: userHandleOf(user.id),
    userName: user.username,
    challenge: issued.challenge,
    excludeCredentials: existing.map(descriptorOf),
  });
  return { challengeId: issued.id, publicKey };
}

function credentialRow(userId: string, verified: VerifiedCredential, name: string, now: number): WebAuthnCredentialRow {
  return {
    id: encodeBase64urlNoPadding(verified.id),
    userId,
    publicKey: encodeBase64urlNoPadding(verified.publicKey),
    algorithm: verified.algorithm,
    signCount: verified.signCount,
    backupEligible: verified.backupEligible,
    backupState: verified.backupState,
    userVerified: verified.userVerified,
    // UV at registration: the passkey may sign in alone (POST /webauthn/signin/verify).
    passwordless: verified.userVerified,
    transports: verified.transports.join(' '),
    name,
    createdAt: now,
    lastUsedAt: null,
  };
}

function refused(reason: string, userId: string): ApiError {
  logEvent('passkey_refused', { userId, reason });
  return new ApiError('invalid_code', { message: 'The passkey was refused, or its challenge was already used or has expired.' });
}

export async function registerPasskey(
  db: Db,
  settings: Settings,
  auth: AuthContext,
  input: { challengeId: string; response: unknown; name?: string },
  now: number,
  client: ClientInfo,
): Promise<PasskeyCreated> {
  requireMayRegister(auth, now);
  const { user } = auth;
  // A malformed response is a bad body: 400, nothing stored changes (the challenge stays).
  const parsed = parseRegistrationResponse(input.response);
  if (!parsed.ok) throw new ApiError('validation_failed', { issues: [{ path: 'response', message: 'is not a WebAuthn registration response' }] });
  const [challenge] = await challengeQuery(db, input.challengeId, auth.sessionId, 'register', now);
  if (!challenge) {
    await deleteChallenge(db, input.challengeId, auth.sessionId);
    throw refused('challenge_unknown', user.id);
  }
  const result = await verifyRegistration(parsed.response, {
    challenge: challengeBytes(challenge),
    rpId: settings.webauthn.rpId,
    origins: settings.webauthn.origins,
  });
  if (!result.ok && result.reason === 'malformed') {
    // CBOR or JSON inside the response that does not parse: a bad body, nothing burnt.
    throw new ApiError('validation_failed', { issues: [{ path: 'response', message: 'is not a WebAuthn registration response' }] });
  }
  if (!result.ok) {
    // A failed attempt burns the challenge: the next try needs new options.
    await deleteChallenge(db, challenge.id, auth.sessionId);
    throw refused(result.reason, user.id);
  }
  const row = credentialRow(user.id, result.credential, input.name ?? challenge.name ?? DEFAULT_NAME, now);
  const guard = and(challengeLive(challenge.id, auth.sessionId, 'register', now), credentialIdFree(row.id), roomForPasskey(user.id))!;
  const created = { id: row.id, name: row.name, createdAt: isoInstant(now) };
  if (auth.authorized) {
    // Another passkey beside an active factor: the same session, nothing else changes.
    // The event first, under the very guard of the insert: both see the same rows,
    // so both happen or neither does.
    const adds = and(guard, sessionIsLive(auth.sessionId, now, settings.sessionIdleSeconds))!;
    const [, inserted] = await db.batch([
      passkeyEvent(db, 'passkey_added', { userId: user.id, sessionId: auth.sessionId, client }, now, adds),
      insertCredentialIf(db, row, adds),
      deleteChallenge(db, challenge.id, auth.sessionId),
    ]);
    if (inserted.meta.changes !== 1) throw refused('replay', user.id);
    logEvent('passkey_added', { userId: user.id, sessionId: auth.sessionId });
    return { credential: created };
  }
  // The first enrollment: the session becomes a full one, only while no factor became active
  // meanwhile (a concurrent TOTP confirmation or another passkey) and the challenge lives.
  const { first, won, retire, session } = opening(db, settings, auth, 'verify', now, ['pwd', 'pop'], client);
  const recoveryCodes = generateRecoveryCodes();
  const [opened] = await db.batch([
    first(and(guard, not(secondFactorActive(user.id)))!),
    insertCredentialIf(db, row, won),
    // A first enrollment by passkey is one event: the passkey added (method `pop`).
    passkeyEvent(db, 'passkey_added', { userId: user.id, sessionId: session.id, client }, now, won),
    deleteChallenge(db, challenge.id, auth.sessionId),
    ...retire,
    // A pending TOTP secret of this enrollment is dropped: the factor chosen is the passkey.
    db.update(users).set({ pendingSecret: null, pendingExpiresAt: null }).where(and(eq(users.id, user.id), won)),
    ...(await replaceRecoveryCodes(db, settings.recoveryKey, user.id, recoveryCodes, now, won)),
    revokeUserSessions(db, user.id, now, { keepSessionId: session.id, guard: won }),
  ]);
  if (opened.meta.changes !== 1) throw refused('replay', user.id);
  logEvent('passkey_added', { userId: user.id, sessionId: session.id });
  logEvent('enrollment_confirmed', { userId: user.id, sessionId: session.id, reason: 'webauthn' });
  const tokens = await issueSessionTokens(db, settings, user, session, now);
  return { credential: created, enrollment: { ...tokens, recoveryCodes } };
}
