import { and, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../../db/client';
import type { Settings } from '../../settings';
import type { Landed } from './commit-retry';
import type { AuthContext } from './lookup';
import { insertSessionIf, newSession, revokeSession, sessionExists, sessionIsLive, type AuthMethods, type ClientInfo, type NewSession } from './store';
import { promotedBy, promotedSession, promotionUpdate, promotionValues, renewalUpdate, renewalValues, renewedSession } from './promotion';


/**
 * `verify`: /otp-verify, which promotes the presented password-only session to
 * a full one (or, with a full token, opens a new one and retires it). `reauthenticate`: a full session proves its factor again and
 * is renewed in place (a fresh auth_time, the next refresh generation).
 */
export type Purpose = 'verify' | 'reauthenticate';

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

export function opening(db: Db, settings: Settings, auth: AuthContext, purpose: Purpose, now: number, amr: AuthMethods, client: ClientInfo): Opening {
  if (purpose === 'reauthenticate') return renewSession(db, settings, auth, now, amr);
  return auth.authorized ? openNewSession(db, settings, auth, now, amr, client) : promoteSession(db, settings, auth, now, amr, client);
}
