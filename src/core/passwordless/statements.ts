/**
 * The statements of POST /webauthn/signin/verify, built once per isolate
 * (src/db/prebuilt.ts), as the second-factor verify's are.
 *
 * On the primary (the request names no account, so its budgets and its challenge
 * belong to no shard): the two budgets (`pkcred:<SHA-256 of the credential id>`,
 * `pkip:<client network>`) and the challenge's single use. On the shard the user
 * handle names: the credential read, and the commit.
 */
import { eventInsert } from '../events';
import { and, eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { columnKeys, insertIf, placeholderRow } from '../../db/guarded-insert';
import { prebuilt, prefixedColumns } from '../../db/prebuilt';
import { sessions, throttles, users, webauthnCredentials, webauthnSigninSpent } from '../../db/schema';
import { reservationStatement, resetThrottle } from '../throttle/throttle';

/** While the client's network is locked, nothing it sends counts against a credential either. */
function networkOpen(p: Record<'networkKey' | 'now', Placeholder>): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${throttles} WHERE ${throttles.key} = ${'pkip:'} || ${p.networkKey} AND ${throttles.lockedUntil} > ${p.now})`;
}

/** One attempt from the credential's budget, counted before the assertion is looked at (throttle.ts). */
export const credentialReservation = prebuilt(['credentialKey', 'networkKey', 'now'], (db, p) => reservationStatement(db, 'pkcred', p.credentialKey, p.now, networkOpen(p)));

/**
 * The network's budget counts failures after the fact: read before (a lock in force is a
 * 429), one attempt added on a refusal. Reserved before, as the credential's is, 50
 * people signing in at once behind one NAT would lock it by their own successes in
 * flight; what can slip past the count is bounded by the concurrency, and every attempt
 * still costs its credential's budget first.
 */
export const networkLock = prebuilt(['networkKey', 'now'], (db, p) =>
  db
    .select({ lockedUntil: throttles.lockedUntil })
    .from(throttles)
    .where(and(eq(throttles.key, sql`${'pkip:'} || ${p.networkKey}`), sql`${throttles.lockedUntil} > ${p.now}`))
    .limit(1),
);
export const networkFailure = prebuilt(['networkKey', 'now'], (db, p) => reservationStatement(db, 'pkip', p.networkKey, p.now));

/**
 * The challenge's single use: the first verify that presents a live id inserts it
 * and gets it back; any later one (a replay, the loser of two at once) gets no row.
 * A locked network writes nothing here either (its request is a 429).
 */
export const challengeSpend = prebuilt(['challengeId', 'expiresAt', 'live', 'networkKey', 'now'], (db, p) =>
  insertIf(db, webauthnSigninSpent, { challengeId: sql`${p.challengeId}`, expiresAt: sql`${p.expiresAt}` }, sql`${p.live} = 1 AND ${networkOpen(p)}`)
    .onConflictDoNothing()
    .returning({ challengeId: webauthnSigninSpent.challengeId }),
);

/**
 * The credential by its id AND its owner, the user the handle names (ids are unique per
 * shard only, L3 §7.1 step 27), registered with UV, with its owner's username. A deleted
 * account's credentials went with it (ON DELETE CASCADE).
 */
export const credentialRead = prebuilt(['credentialId', 'userId'], (db, p) =>
  db
    .select({ credential: prefixedColumns(webauthnCredentials, 'k_'), username: users.username })
    .from(webauthnCredentials)
    .innerJoin(users, eq(users.id, webauthnCredentials.userId))
    .where(and(eq(webauthnCredentials.id, p.credentialId), eq(webauthnCredentials.userId, p.userId), eq(webauthnCredentials.passwordless, true)))
    .limit(1),
);

/** The commit's guard (§7.2 step 26): the credential is still the user's, passwordless, and its counter the one read. */
function credentialUnchanged(p: Record<'credentialId' | 'userId' | 'storedSignCount', Placeholder>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.id} = ${p.credentialId}
    AND ${webauthnCredentials.userId} = ${p.userId} AND ${webauthnCredentials.signCount} = ${p.storedSignCount} AND ${webauthnCredentials.passwordless} = 1)`;
}

/** The new full session, inserted only under the guard: the first statement of the commit. */
export const sessionInsert = prebuilt([...columnKeys(sessions), 'credentialId', 'storedSignCount'], (db, p) => insertIf(db, sessions, placeholderRow(sessions, p), credentialUnchanged(p)));

function sessionMade(p: Record<'sid', Placeholder>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${p.sid})`;
}

export const counterUpdate = prebuilt(['credentialId', 'storedSignCount', 'signCount', 'backupState', 'userVerified', 'now', 'sid'], (db, p) =>
  db
    .update(webauthnCredentials)
    .set({ signCount: sql`${p.signCount}`, backupState: sql`${p.backupState}`, userVerified: sql`${p.userVerified}`, lastUsedAt: sql`${p.now}` })
    .where(and(eq(webauthnCredentials.id, p.credentialId), eq(webauthnCredentials.signCount, p.storedSignCount), sessionMade(p))),
);

/** The security event, in the commit (core/events.ts eventInsert: every column by name, `method` the passkey's `pop`). */
export const signinEvent = prebuilt(['eventId', 'userId', 'now', 'sid', 'userAgent', 'ip'], (db, p) =>
  eventInsert(
    db,
    { id: p.eventId, userId: p.userId, type: 'passkey_signin', at: p.now, sessionId: p.sid, userAgent: p.userAgent, ip: p.ip, reason: null, method: 'pop' },
    sessionMade(p),
  ),
);

/**
 * After a success, on the primary: the credential's budget is cleared. `inCommit`: the
 * primary is the user's shard too, and the reset rides in the commit, guarded by it.
 */
function afterSuccess(p: Record<'sid' | 'inCommit', Placeholder>): SQL {
  return sql`(${p.inCommit} = 0 OR ${sessionMade(p)})`;
}
export const credentialBudgetReset = prebuilt(['credentialKey', 'sid', 'inCommit'], (db, p) => resetThrottle(db, 'pkcred', p.credentialKey, afterSuccess(p)));
