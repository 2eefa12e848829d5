import { and, eq, inArray, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import { logoutToken, postLogoutToken } from './backchannel-send';
import { LOGOUT_AFTER_PROVIDER_SESSION } from './grants';
import { oidcClients, oidcGrants, type OidcGrantRow } from './tables';

/**
 * Back-Channel Logout 1.0, the bookkeeping (docs/openid-provider.md,
 * "Back-channel logout"). A client session that was ENDED (its own row
 * revoked, or its provider session's: a logout anywhere, DELETE /sessions,
 * a password change, an MFA reset, a reuse, a disconnected app, an admin
 * action; account deletion reads its rows before they go) is owed one
 * logout token. One that merely expires or idles is not: a logout token
 * tells the client the person's sign-in (the `sid`) is over, and an app that
 * keeps its own login without refreshing would sign the person out an hour
 * after sign-in for no reason the person gave. A delivery CLAIMS its
 * rows (a lease: `logout_claimed_at`, and one more round in
 * `logout_attempts`), POSTs, and only then CONFIRMS (`logout_sent_at`) or,
 * after a failed round, UNMARKS them. An isolate evicted mid-way leaves a
 * claim that lapses after the lease; the hourly sweep (src/scheduled) then
 * claims what is left. At most LOGOUT_ROUNDS rounds of three attempts.
 */

export const LOGOUT_ROUNDS = 3;
/** Longer than a round can take (3 attempts of at most 5 s, and the waits), and than ctx.waitUntil lasts (30 s). */
export const LOGOUT_LEASE_SECONDS = 300;
/** Client sessions claimed per delivery (one person's, or one shard's per sweep). */
const CLAIM_LIMIT = 100;

/** Not sent, or deferred by the client's own revocation (grants.ts). */
const unsent = or(isNull(oidcGrants.logoutSentAt), eq(oidcGrants.logoutSentAt, LOGOUT_AFTER_PROVIDER_SESSION))!;

/**
 * Not confirmed, rounds left, and not held by a delivery in flight. A row the
 * client revoked itself waits for its provider session to end (unless
 * `deferredToo`: the account is about to be deleted, which ends it).
 */
function claimable(now: number, deferredToo = false): SQL {
  const providerEnded = sql`EXISTS (SELECT 1 FROM sessions p WHERE p.id = ${oidcGrants.providerSessionId} AND p.revoked_at IS NOT NULL)`;
  return and(
    deferredToo ? unsent : or(isNull(oidcGrants.logoutSentAt), and(eq(oidcGrants.logoutSentAt, LOGOUT_AFTER_PROVIDER_SESSION), providerEnded)),
    lt(oidcGrants.logoutAttempts, LOGOUT_ROUNDS),
    or(isNull(oidcGrants.logoutClaimedAt), lt(oidcGrants.logoutClaimedAt, now - LOGOUT_LEASE_SECONDS)),
  )!;
}

/**
 * Claims the ended, owed client sessions within `scope` (one person's, or a
 * whole shard's): one UPDATE, so of two deliveries each row goes to one.
 */
export function claimEnded(db: Db, scope: SQL | undefined, now: number, limit = CLAIM_LIMIT): Promise<OidcGrantRow[]> {
  const ended = sql`EXISTS (SELECT 1 FROM sessions s JOIN sessions p ON p.id = ${oidcGrants.providerSessionId}
    WHERE s.id = ${oidcGrants.sessionId} AND (s.revoked_at IS NOT NULL OR p.revoked_at IS NOT NULL))`;
  // Rows never tried first: a failing client's retries must not fill every batch and starve the other clients.
  const owed = db
    .select({ id: oidcGrants.sessionId })
    .from(oidcGrants)
    .where(and(scope, claimable(now), ended))
    .orderBy(oidcGrants.logoutAttempts)
    .limit(limit);
  return db
    .update(oidcGrants)
    .set({ logoutClaimedAt: now, logoutAttempts: sql`${oidcGrants.logoutAttempts} + 1` })
    .where(and(inArray(oidcGrants.sessionId, owed), claimable(now)))
    .returning();
}

/** Above this many clients with a back-channel URI, the deletion's read does not name them (D1 binds at most 100 parameters). */
const NAMED_CLIENTS_MAX = 90;

/**
 * The client sessions of `userId` still owed a logout, live or ended, one per
 * client and provider session (one logout token each): read just before the
 * account (and these rows) are deleted. Only clients with a back-channel URI
 * count, so sessions at other apps (decoys an attacker made) cannot fill the
 * bounded read and push a real one out: nothing could find it afterwards.
 */
export async function owedBeforeDeletion(db: Db, primary: Db, userId: string, now: number): Promise<OidcGrantRow[]> {
  const told = await primary.select({ id: oidcClients.id }).from(oidcClients).where(isNotNull(oidcClients.backchannelLogoutUri)).limit(NAMED_CLIENTS_MAX + 1);
  if (told.length === 0) return [];
  const named = told.length <= NAMED_CLIENTS_MAX ? inArray(oidcGrants.clientId, told.map((client) => client.id)) : undefined;
  return db
    .select()
    .from(oidcGrants)
    .where(and(eq(oidcGrants.userId, userId), claimable(now, true), named))
    .groupBy(oidcGrants.clientId, oidcGrants.providerSessionId)
    .limit(CLAIM_LIMIT);
}

interface Target {
  clientId: string;
  sid: string;
  userId: string;
  sessionIds: string[];
  lastRound: boolean;
}

/** One logout token per client, provider session (the `sid`) and person. */
function targetsOf(rows: OidcGrantRow[]): Target[] {
  const targets = new Map<string, Target>();
  for (const row of rows) {
    const key = `${row.clientId} ${row.providerSessionId} ${row.userId}`;
    let target = targets.get(key);
    if (!target) targets.set(key, (target = { clientId: row.clientId, sid: row.providerSessionId, userId: row.userId, sessionIds: [], lastRound: false }));
    target.sessionIds.push(row.sessionId);
    // A claimed row comes back with this round already counted (claimEnded adds it).
    target.lastRound ||= row.logoutAttempts >= LOGOUT_ROUNDS;
  }
  return [...targets.values()];
}

/** Confirms a delivered target's rows, or hands a failed one back to the sweep; only rows this delivery claimed at `claimedAt`. */
async function settle(db: Db, target: Target, claimedAt: number, delivered: boolean, now: number): Promise<void> {
  const mine = and(inArray(oidcGrants.sessionId, target.sessionIds), eq(oidcGrants.logoutClaimedAt, claimedAt), unsent);
  await db.update(oidcGrants).set(delivered ? { logoutSentAt: now } : { logoutClaimedAt: null }).where(mine);
}

/**
 * Hands back claimed rows that were never tried: the claim cleared, the round
 * KEPT (their client failed a round on another target just now: it was down
 * for this run, for all of them). Undoing the round left a dead client's
 * backlog at its lowest count, draining one session per sweep and sorting
 * ahead of every other client's retries until the cleanup deleted them
 * (review 4). In chunks, as D1 binds 100 values at most.
 */
async function release(db: Db, sessionIds: string[], claimedAt: number): Promise<void> {
  for (let at = 0; at < sessionIds.length; at += 90) {
    const chunk = sessionIds.slice(at, at + 90);
    await db
      .update(oidcGrants)
      .set({ logoutClaimedAt: null })
      .where(and(inArray(oidcGrants.sessionId, chunk), eq(oidcGrants.logoutClaimedAt, claimedAt), unsent));
  }
}

/**
 * POSTs a logout token for each target whose client has a back-channel URI,
 * then settles its rows (`claimedAt` null: the rows are about to be deleted
 * with their account, nothing to settle). A client without a URI, or deleted,
 * is confirmed at once: there is nobody to tell.
 */
export async function deliver(db: Db, primary: Db, settings: Settings, rows: OidcGrantRow[], claimedAt: number | null, now: number): Promise<void> {
  if (rows.length === 0) return;
  const targets = targetsOf(rows);
  const clients = await primary.select().from(oidcClients).where(inArray(oidcClients.id, [...new Set(targets.map((t) => t.clientId))]));
  const byId = new Map(clients.map((client) => [client.id, client]));
  const byClient = new Map<string, Target[]>();
  for (const target of targets) byClient.set(target.clientId, [...(byClient.get(target.clientId) ?? []), target]);
  // A client at a time per lane, its targets one after another: once one fails its round, the
  // client is down for this run and its other targets go back untried, with this round counted.
  await atMostAtOnce(DELIVERIES_AT_ONCE, [...byClient.values()], async (clientTargets) => {
    const client = byId.get(clientTargets[0]!.clientId);
    for (const [index, target] of clientTargets.entries()) {
      let delivered = true;
      try {
        if (client?.backchannelLogoutUri) {
          const token = await logoutToken(db, settings, client, target.userId, target.sid, now);
          delivered = await postLogoutToken(client.backchannelLogoutUri, token, client.id, target.userId, target.lastRound || claimedAt === null);
        }
        if (claimedAt !== null) await settle(db, target, claimedAt, delivered, now);
      } catch (error) {
        // Left claimed: the lease lapses and the sweep tries again.
        logEvent('oidc_backchannel_logout', { userId: target.userId, reason: `client ${target.clientId}: delivery failed, ${error instanceof Error ? error.name : 'error'}` });
      }
      // A deletion's targets (claimedAt null) have no row left to hand back: each gets its round.
      if (!delivered && claimedAt !== null) {
        const untried = clientTargets.slice(index + 1);
        if (untried.length) await release(db, untried.flatMap((each) => each.sessionIds), claimedAt);
        const givenUp = untried.filter((each) => each.lastRound).length;
        if (untried.length) logEvent('oidc_backchannel_logout', { reason: `client ${target.clientId}: down, ${untried.length - givenUp} more logout token(s) left for the next sweep, ${givenUp} given up` });
        return;
      }
    }
  });
}

/**
 * A Worker keeps at most six connections open per invocation and queues the
 * rest, while each attempt's 5 s timeout runs from its fetch() call: sent all
 * at once, one slow client would make the queued attempts of the others time
 * out and spend their rounds. Four clients at a time leaves room for D1 and
 * the keys.
 */
const DELIVERIES_AT_ONCE = 4;

async function atMostAtOnce<T>(limit: number, items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** After a request that may have ended `userId`'s sessions. */
export async function deliverFor(db: Db, primary: Db, settings: Settings, userId: string, now: number): Promise<void> {
  await deliver(db, primary, settings, await claimEnded(db, eq(oidcGrants.userId, userId), now), now, now);
}

/** The hourly sweep of one shard: rounds an evicted isolate, a cut-short delivery or a failing client left. The rows claimed. */
export async function sweepBackchannelLogouts(db: Db, primary: Db, settings: Settings, now: number): Promise<number> {
  const rows = await claimEnded(db, undefined, now);
  await deliver(db, primary, settings, rows, now, now);
  return rows.length;
}
