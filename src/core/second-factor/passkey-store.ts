/**
 * Named queries of the passkey flows: challenges (issued, read, required by a
 * guard, burnt) and credentials (listed, turned into what the verifier needs).
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { base64urlDecode } from '../../crypto/base64';
import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { PASSKEYS_PER_USER_MAX, WEBAUTHN_CHALLENGE_BYTES, WEBAUTHN_CHALLENGE_TTL_SECONDS } from '../../settings/tunables';
import { randomBytes, randomId } from '../../crypto/random';
import type { Db } from '../../db/client';
import { insertIf } from '../../db/guarded-insert';
import type { Bound } from '../../db/prebuilt';
import { webauthnChallenges, webauthnCredentials, type WebAuthnChallengeRow, type WebAuthnCredentialRow } from '../../db/schema';
import type { CoseAlgorithm, CredentialDescriptor, StoredCredential } from '../../webauthn';

export type ChallengePurpose = 'register' | 'login' | 'reauthenticate';

export interface IssuedChallenge {
  id: string;
  challenge: Uint8Array;
}

/**
 * A new challenge for this session and purpose. It replaces any earlier one of the
 * same session and purpose, so a session holds at most one per purpose.
 */
export async function issueChallenge(
  db: Db,
  input: { sessionId: string; userId: string; purpose: ChallengePurpose; name?: string | null },
  now: number,
): Promise<IssuedChallenge> {
  const challenge = randomBytes(WEBAUTHN_CHALLENGE_BYTES);
  const id = randomId();
  await db.batch([
    db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.sessionId, input.sessionId), eq(webauthnChallenges.purpose, input.purpose))),
    db.insert(webauthnChallenges).values({
      id,
      challenge: encodeBase64urlNoPadding(challenge),
      sessionId: input.sessionId,
      userId: input.userId,
      purpose: input.purpose,
      name: input.name ?? null,
      expiresAt: now + WEBAUTHN_CHALLENGE_TTL_SECONDS,
    }),
  ]);
  return { id, challenge };
}

/** The challenge `id` as issued to this session for this purpose, while it lives (unexecuted, for a batch). */
export function challengeQuery(db: Db, id: Bound<string>, sessionId: Bound<string>, purpose: Bound<ChallengePurpose>, now: Bound<number>) {
  return db.select().from(webauthnChallenges).where(challengeMatches(id, sessionId, purpose, now)).limit(1);
}

/** The challenge `id`, of this session and purpose, unexpired. */
export function challengeMatches(id: Bound<string>, sessionId: Bound<string>, purpose: Bound<ChallengePurpose>, now: Bound<number>): SQL {
  return and(eq(webauthnChallenges.id, id), eq(webauthnChallenges.sessionId, sessionId), eq(webauthnChallenges.purpose, purpose), gt(webauthnChallenges.expiresAt, now))!;
}

/**
 * The guard a commit carries: the challenge still exists, for this session and
 * purpose, unexpired. The same batch deletes it, so of two commits with one
 * challenge only the first finds it (a challenge is good once).
 */
export function challengeLive(id: Bound<string>, sessionId: Bound<string>, purpose: Bound<ChallengePurpose>, now: Bound<number>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${webauthnChallenges} WHERE ${challengeMatches(id, sessionId, purpose, now)})`;
}

/**
 * Burns a challenge of this session: after a commit (in its batch) or after a failed
 * attempt, whatever its purpose (a registration challenge tried at login is spent too).
 */
export function deleteChallenge(db: Db, id: Bound<string>, sessionId: Bound<string>) {
  return db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.id, id), eq(webauthnChallenges.sessionId, sessionId)));
}

/** Inserts the credential only if `guard` holds when the statement runs (the insertSessionIf pattern). */
export function insertCredentialIf(db: Db, row: WebAuthnCredentialRow, guard: SQL) {
  return insertIf(db, webauthnCredentials, row, guard);
}

/** The credential id is nobody's yet (L3 §7.1 step 27; this shard is all the statement sees). */
export function credentialIdFree(id: string): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.id} = ${id})`;
}

/** The user has fewer than PASSKEYS_PER_USER_MAX passkeys. */
export function roomForPasskey(userId: string): SQL {
  return sql`(SELECT count(*) FROM ${webauthnCredentials} WHERE ${webauthnCredentials.userId} = ${userId}) < ${PASSKEYS_PER_USER_MAX}`;
}

export function challengeBytes(row: WebAuthnChallengeRow): Uint8Array {
  return storedBytes(row.challenge);
}

/** The user's passkeys, oldest first (bounded by PASSKEYS_PER_USER_MAX). */
export function credentialsOf(db: Db, userId: string) {
  return db.select().from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId)).orderBy(asc(webauthnCredentials.createdAt)).limit(PASSKEYS_PER_USER_MAX);
}

/** A base64url column as written by encodeBase64urlNoPadding; throws on a corrupt row (a stored-data bug, not client input). */
function storedBytes(text: string): Uint8Array {
  const bytes = base64urlDecode(text);
  if (!bytes) throw new Error('a passkey row has malformed base64url');
  return bytes;
}

export function descriptorOf(row: WebAuthnCredentialRow): CredentialDescriptor {
  return { id: storedBytes(row.id), transports: row.transports === '' ? [] : row.transports.split(' ') };
}

export function storedCredentialOf(row: WebAuthnCredentialRow): StoredCredential {
  return {
    id: storedBytes(row.id),
    publicKey: storedBytes(row.publicKey),
    algorithm: row.algorithm as CoseAlgorithm,
    signCount: row.signCount,
    backupEligible: row.backupEligible,
  };
}

/** The user handle (user.id of the creation options, L3 §5.4.3): the opaque user id, no personal data. */
export function userHandleOf(userId: string): Uint8Array {
  return new TextEncoder().encode(userId);
}
