import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { idShardDb } from '../../http/middleware/shard';
import { codeRowInsert, issueCode, newCode } from './codes';
import { consentExists, consentRead, hasConsent } from './consents';
import { insertIf } from '../../db/guarded-insert';
import { recordEvent, type EventSource } from '../../core/events';
import { logEvent } from '../../core/log';
import { consentForm } from './pages/enroll';
import { signInPage } from './sign-in-page';
import { accountCeiling, acrFor, canMeet } from './acr';
import { provenAcr, touchProviderSession, type ProviderSession } from './provider-session';
import { oidcClients, oidcConsents, type OidcClientRow } from './tables';
import { makeTicket, type AuthorizationRequest } from './ticket';
import { errorPage, NO_LONGER_REGISTERED, redirectToClient, render, stepContext } from './web';
import { findClient, redirectUriRegistered, refOf, type ClientRef } from './clients';
import { primaryDb } from '../../db/shards';
import type { Db } from '../../db/client';
import { SESSION_TOUCH_INTERVAL_SECONDS } from '../../settings/tunables';
import { sql, type SQL } from 'drizzle-orm';

type C = Context<AppEnv>;

/** A client as a registry row read in this request, or as a ticket's copy. */
type AnyClient = OidcClientRow | ClientRef;
const asRef = (client: AnyClient, redirectUri: string): ClientRef => ('redirectUris' in client ? refOf(client, redirectUri) : client);

/**
 * SQL: the registry row still says what `ref` says (the client exists, the
 * same first-party flag, the redirect URI still registered). Only where the
 * registry lives: the primary.
 */
function clientStill(ref: ClientRef): SQL {
  return sql`EXISTS (SELECT 1 FROM ${oidcClients} WHERE ${oidcClients.id} = ${ref.id} AND ${oidcClients.firstParty} = ${ref.firstParty ? 1 : 0}
    AND EXISTS (SELECT 1 FROM json_each(${oidcClients.redirectUris}) WHERE value = ${ref.registeredUri}))`;
}

/** The client as the registry has it now, if it still accepts the request's redirect URI. */
async function freshRef(c: C, id: string, request: AuthorizationRequest): Promise<ClientRef | null> {
  const row = await findClient(primaryDb(c.env), id);
  return row && redirectUriRegistered(row, request.redirectUri) ? refOf(row, request.redirectUri) : null;
}

/**
 * How a write that issues a code or records a consent checks a ticket's copy
 * of the client: on the primary, inside that very statement (`clientStill`,
 * no read of its own); on another shard, by reading the primary first. A copy
 * that no longer holds yields the client as it is now (null: gone, or the
 * redirect URI no longer registered).
 */
export async function clientGuard(c: C, db: Db, client: ClientRef, request: AuthorizationRequest): Promise<{ guard: SQL; client: ClientRef } | { changed: ClientRef | null }> {
  if (client.verified) return { guard: sql`1`, client };
  if (db === primaryDb(c.env)) return { guard: clientStill(client), client };
  const fresh = await freshRef(c, client.id, request);
  if (fresh && fresh.firstParty === client.firstParty && fresh.registeredUri === client.registeredUri) return { guard: sql`1`, client: fresh };
  return { changed: fresh };
}

/** After a guarded write found nothing to write: did the ticket's copy of the client stop holding? Null: it still holds. */
export async function clientChanged(c: C, client: ClientRef, request: AuthorizationRequest): Promise<{ changed: ClientRef | null } | null> {
  if (client.verified) return null;
  const fresh = await freshRef(c, client.id, request);
  return fresh && fresh.firstParty === client.firstParty && fresh.registeredUri === client.registeredUri ? null : { changed: fresh };
}

/** An error back to the client, once a ticket's copy of it is known to still accept the redirect URI (else our error page). */
export async function errorBack(c: C, client: ClientRef, request: AuthorizationRequest, fields: Record<string, string>): Promise<Response> {
  const changed = await clientChanged(c, client, request);
  return changed && !changed.changed ? errorPage(c, NO_LONGER_REGISTERED) : redirectToClient(c, request, fields);
}

/** The sign-in page of a request (a fresh ticket: the request and the client, signed). */
export async function showSignIn(c: C, anyClient: AnyClient, request: AuthorizationRequest, now: number, alert?: string) {
  const client = asRef(anyClient, request.redirectUri);
  const step = await stepContext(c, client, await makeTicket(c.get('settings').oidcKey, request, client, now), request.redirectUri);
  return signInPage(c, step, request.loginHint, alert);
}

/**
 * The consent page, its ticket bound to the provider session it asks: an
 * answer given after someone else signed in on this browser is not theirs
 * (routes-steps.ts, consentStep).
 */
async function consentPage(c: C, client: ClientRef, request: AuthorizationRequest, providerSessionId: string, now: number) {
  const ticket = await makeTicket(c.get('settings').oidcKey, { ...request, consentSession: providerSessionId }, client, now);
  return render(c, 'Allow access?', consentForm(await stepContext(c, client, ticket, request.redirectUri), request.scopes));
}

/**
 * After both factors (now, or in a live provider session): consent if the
 * client is not first-party and this scope set was never allowed, then the
 * code. The code is written only while the provider session is live and
 * full (issueCode's guard), so no path reaches a code without a second factor.
 */
export async function afterSignIn(c: C, anyClient: AnyClient, request: AuthorizationRequest, provider: ProviderSession, now: number, options: { prompt?: Set<string>; consented?: boolean } = {}): Promise<Response> {
  const client = asRef(anyClient, request.redirectUri);
  const db = idShardDb(c, provider.session.id)!;
  // acr_values: the first listed value this sign-in proved; none met (after a sign-in in this request) ends the request.
  const acr = acrFor(provenAcr(provider.session.amr, provider.session.acr), request.acrValues);
  if (!acr) return errorBack(c, client, request, { error: 'unmet_authentication_requirements', error_description: 'The sign-in did not meet the requested acr_values.' });
  const scope = request.scopes.join(' ');
  const prompt = options.prompt ?? new Set<string>();
  const needsConsent = !client.firstParty && !options.consented && (prompt.has('consent') || request.askConsent === true || !(await hasConsent(db, provider.user.id, client.id, scope)));
  if (needsConsent) {
    if (prompt.has('none')) return redirectToClient(c, request, { error: 'consent_required', error_description: 'The person has not allowed this application yet.' });
    return consentPage(c, client, request, provider.session.id, now);
  }
  const checked = await clientGuard(c, db, client, request);
  if ('changed' in checked) return checked.changed ? afterSignIn(c, checked.changed, request, provider, now, options) : errorPage(c, NO_LONGER_REGISTERED);
  const offline = client.firstParty || request.scopes.includes('offline_access');
  const code = await issueCode(db, request, { userId: provider.user.id, providerSessionId: provider.session.id, scopes: request.scopes, offline, acr }, now, checked.guard);
  if (!code) {
    // The copy of the client the ticket carried no longer holds: go on with the client as it is now.
    const changed = await clientChanged(c, client, request);
    if (changed) return changed.changed ? afterSignIn(c, changed.changed, request, provider, now, options) : errorPage(c, NO_LONGER_REGISTERED);
    // The session ended between the lookup and the insert: prompt=none still never shows a page.
    if (prompt.has('none')) return redirectToClient(c, request, { error: 'login_required', error_description: 'No one is signed in.' });
    return showSignIn(c, client, request, now, 'Your session ended. Sign in again.');
  }
  // The idle limit's touch, only when it would write (at most once a minute): the session was read in this request.
  if (now - provider.session.lastUsedAt >= SESSION_TOUCH_INTERVAL_SECONDS) await touchProviderSession(db, provider.session.id, now);
  return redirectToClient(c, request, { code });
}

/**
 * A live provider session that proved less than `acr_values` asks for: an
 * account that can meet none of them gets unmet_authentication_requirements
 * (asking would not help); otherwise the person signs in again (the passkey
 * offered first), with prompt=none login_required. Null: the session is enough.
 */
export async function stepUpNeeded(c: C, client: AnyClient, request: AuthorizationRequest, provider: ProviderSession, now: number, prompt: Set<string>) {
  if (acrFor(provenAcr(provider.session.amr, provider.session.acr), request.acrValues)) return null;
  const ceiling = await accountCeiling(idShardDb(c, provider.session.id)!, provider.user.id);
  if (!canMeet(ceiling, request.acrValues)) {
    return redirectToClient(c, request, { error: 'unmet_authentication_requirements', error_description: 'This account cannot meet the requested acr_values.' });
  }
  if (prompt.has('none')) return redirectToClient(c, request, { error: 'login_required', error_description: 'A stronger sign-in is needed.' });
  // Only a sign-in from now on counts at the next steps.
  return showSignIn(c, client, { ...request, authAfter: now }, now, 'This application asks for a stronger sign-in: use your passkey.');
}

/**
 * The code step's code, written in the batch that commits the second factor
 * (core proveSecondFactor's `also`): the hosted step then costs the round
 * trips of its JSON twin (/otp-verify), with no read of the session it just
 * promoted. The INSERT is guarded by the promotion having landed, the
 * provider session being live, the ticket's copy of the client still holding
 * (on the primary; on another shard the registry is read while the proof
 * runs, and a code is handed out only if the copy held) and, for a
 * third-party client, a remembered consent; a read of that consent rides
 * along, so a missing one shows the consent page at once. Null when this
 * request cannot end this way (acr_values the proof cannot meet), and
 * `answer` null when it did not: the caller then reads the provider session
 * and goes on as after any sign-in.
 */
export async function codeWithProof(c: C, db: Db, client: ClientRef, request: AuthorizationRequest, provider: { userId: string; sessionId: string; amr: string }, now: number) {
  const acr = acrFor(provenAcr(provider.amr, null), request.acrValues);
  if (!acr) return null;
  const onPrimary = db === primaryDb(c.env);
  const scope = request.scopes.join(' ');
  const offline = client.firstParty || request.scopes.includes('offline_access');
  const { code, row } = await newCode(request, { userId: provider.userId, providerSessionId: provider.sessionId, scopes: request.scopes, offline, acr }, now);
  // prompt=consent: a client that is not first-party gets the consent page even with a consent remembered.
  const mustAsk = !client.firstParty && request.askConsent === true;
  const guard = sql`${client.verified || !onPrimary ? sql`1` : clientStill(client)} AND ${client.firstParty ? sql`1` : mustAsk ? sql`0` : consentExists(provider.userId, client.id, scope)}`;
  let stillHolds: Promise<boolean> | null = null;
  return {
    also: (won: SQL) => {
      stillHolds = client.verified || onPrimary ? Promise.resolve(true) : clientChanged(c, client, request).then((changed) => changed === null, () => false);
      return [codeRowInsert(db, row, sql`${won} AND ${guard}`), consentRead(db, provider.userId, client.id, scope)];
    },
    async answer(results: unknown[] | null): Promise<Response | null> {
      if (!results || !(await stillHolds)) return null;
      const [inserted, consents] = results as [D1Result, unknown[]];
      if (inserted.meta.changes === 1) return redirectToClient(c, request, { code });
      if (client.firstParty || (consents.length > 0 && !mustAsk)) return null;
      return consentPage(c, client, request, provider.sessionId, now);
    },
  };
}

/**
 * The consent step's "allow": the consent, its event and the code in one
 * db.batch(). Its first statement records the consent while the ticket's copy
 * of the client holds (`clientGuard`); the event and the code are written
 * only if the consent is there (one given before counts too), the code only
 * while the provider session is live. Null when no code was written: the
 * caller goes on as after any sign-in (which tells why).
 */
export async function allowAndCode(c: C, client: ClientRef, request: AuthorizationRequest, provider: ProviderSession, now: number, source: EventSource): Promise<Response | null> {
  const db = idShardDb(c, provider.session.id)!;
  const checked = await clientGuard(c, db, client, request);
  if ('changed' in checked) return checked.changed ? afterSignIn(c, checked.changed, request, provider, now) : errorPage(c, NO_LONGER_REGISTERED);
  const userId = provider.user.id;
  const scope = request.scopes.join(' ');
  const acr = acrFor(provenAcr(provider.session.amr, provider.session.acr), request.acrValues);
  const offline = client.firstParty || request.scopes.includes('offline_access');
  const made = acr ? await newCode(request, { userId, providerSessionId: provider.session.id, scopes: request.scopes, offline, acr }, now) : null;
  const consented = consentExists(userId, client.id, scope);
  const [, , inserted] = await db.batch([
    insertIf(db, oidcConsents, { userId, clientId: client.id, scope, createdAt: now }, sql`${checked.guard} AND NOT ${consented}`),
    recordEvent(db, 'oidc_consent_granted', { ...source, reason: `client ${client.id}: ${scope}` }, now, sql`${checked.guard} AND ${consented}`),
    ...(made ? [codeRowInsert(db, made.row, sql`${checked.guard} AND ${consented}`)] : []),
  ]);
  logEvent('oidc_consent', { userId, sessionId: provider.session.id, reason: 'granted' });
  if (!made || (inserted as D1Result | undefined)?.meta.changes !== 1) return null;
  if (now - provider.session.lastUsedAt >= SESSION_TOUCH_INTERVAL_SECONDS) await touchProviderSession(db, provider.session.id, now);
  return redirectToClient(c, request, { code: made.code });
}
