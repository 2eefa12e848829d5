import { and, eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { eventInsert } from '../../core/events';
import { columnKeys, insertIf, placeholderRow } from '../../db/guarded-insert';
import { prebuilt } from '../../db/prebuilt';
import { sessions } from '../../db/schema';
import { oidcCodes, oidcGrants } from './tables';

/**
 * The code exchange's commit (exchange.ts), built once per isolate and bound
 * per request (src/db/prebuilt.ts), as /refresh's and the passkey verify's
 * are: drizzle building four statements per request was CPU the baseline
 * does not spend. The same statements, guards and order as built per request.
 */

/** The compare-and-swap that spends the code: unused and unexpired when the statement runs, naming the session it opens. */
export const codeSpend = prebuilt(['codeHash', 'sid', 'now'], (db, p) =>
  db
    .update(oidcCodes)
    .set({ usedAt: sql`${p.now}`, sessionId: sql`${p.sid}` })
    .where(and(eq(oidcCodes.codeHash, p.codeHash), sql`${oidcCodes.usedAt} IS NULL`, sql`${oidcCodes.expiresAt} > ${p.now}`))
    .returning({ codeHash: oidcCodes.codeHash }),
);

function opened(p: Record<'sid', Placeholder>): SQL {
  return sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${p.sid})`;
}

/** The client session, only if the spend above named it and the provider session is still live. */
export const clientSessionInsert = prebuilt([...columnKeys(sessions), 'codeHash', 'providerSessionId', 'now'], (db, p) => {
  const mine = sql`EXISTS (SELECT 1 FROM ${oidcCodes} WHERE ${oidcCodes.codeHash} = ${p.codeHash} AND ${oidcCodes.sessionId} = ${p.id})`;
  const providerLive = sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${p.providerSessionId} AND ${sessions.revokedAt} IS NULL AND ${sessions.expiresAt} > ${p.now})`;
  return insertIf(db, sessions, placeholderRow(sessions, p), sql`${mine} AND ${providerLive}`);
});

/** Its grant, only once the client session exists. */
export const grantInsert = prebuilt([...columnKeys(oidcGrants), 'sid'], (db, p) => insertIf(db, oidcGrants, placeholderRow(oidcGrants, p), opened(p)));

/** The security event `oidc_code_exchanged`, only once the client session exists. */
export const exchangedEvent = prebuilt(['eventId', 'userId', 'now', 'sid', 'userAgent', 'ip', 'reason'], (db, p) =>
  eventInsert(db, { id: p.eventId, userId: p.userId, type: 'oidc_code_exchanged', at: p.now, sessionId: p.sid, userAgent: p.userAgent, ip: p.ip, reason: p.reason, method: null }, opened(p)),
);
