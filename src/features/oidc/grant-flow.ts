import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { idShardDb } from '../../http/middleware/shard';
import { issueCode } from './codes';
import { hasConsent } from './consents';
import { consentForm } from './pages/enroll';
import { signInForm } from './pages/sign-in';
import { accountCeiling, acrFor, canMeet } from './acr';
import { provenAcr, touchProviderSession, type ProviderSession } from './provider-session';
import type { OidcClientRow } from './tables';
import { makeTicket, type AuthorizationRequest } from './ticket';
import { redirectToClient, render, stepContext } from './web';

type C = Context<AppEnv>;

/** The sign-in page of a request (a fresh ticket: the request, signed). */
export async function showSignIn(c: C, client: OidcClientRow, request: AuthorizationRequest, now: number, alert?: string) {
  const step = await stepContext(c, client, await makeTicket(c.get('settings').oidcKey, request, now), request.redirectUri);
  return render(c, 'Sign in', signInForm(step, c.get('settings').oidcSignup, request.loginHint), { alert });
}

/**
 * After both factors (now, or in a live provider session): consent if the
 * client is not first-party and this scope set was never allowed, then the
 * code. The code is written only while the provider session is live and
 * full (issueCode's guard), so no path reaches a code without a second factor.
 */
export async function afterSignIn(c: C, client: OidcClientRow, request: AuthorizationRequest, provider: ProviderSession, now: number, options: { prompt?: Set<string>; consented?: boolean } = {}) {
  const db = idShardDb(c, provider.session.id)!;
  // acr_values: the first listed value this sign-in proved; none met (after a sign-in in this request) ends the request.
  const acr = acrFor(provenAcr(provider.session.amr, provider.session.acr), request.acrValues);
  if (!acr) return redirectToClient(c, request, { error: 'unmet_authentication_requirements', error_description: 'The sign-in did not meet the requested acr_values.' });
  const scope = request.scopes.join(' ');
  const prompt = options.prompt ?? new Set<string>();
  const needsConsent = !client.firstParty && !options.consented && (prompt.has('consent') || !(await hasConsent(db, provider.user.id, client.id, scope)));
  if (needsConsent) {
    if (prompt.has('none')) return redirectToClient(c, request, { error: 'consent_required', error_description: 'The person has not allowed this application yet.' });
    const step = await stepContext(c, client, await makeTicket(c.get('settings').oidcKey, request, now), request.redirectUri);
    return render(c, 'Allow access?', consentForm(step, request.scopes));
  }
  const offline = client.firstParty || request.scopes.includes('offline_access');
  const code = await issueCode(db, request, { userId: provider.user.id, providerSessionId: provider.session.id, scopes: request.scopes, offline, acr }, now);
  if (!code) {
    // The session ended between the lookup and the insert: prompt=none still never shows a page.
    if (prompt.has('none')) return redirectToClient(c, request, { error: 'login_required', error_description: 'No one is signed in.' });
    return showSignIn(c, client, request, now, 'Your session ended. Sign in again.');
  }
  await touchProviderSession(db, provider.session.id, now);
  return redirectToClient(c, request, { code });
}

/**
 * A live provider session that proved less than `acr_values` asks for: an
 * account that can meet none of them gets unmet_authentication_requirements
 * (asking would not help); otherwise the person signs in again (the passkey
 * offered first), with prompt=none login_required. Null: the session is enough.
 */
export async function stepUpNeeded(c: C, client: OidcClientRow, request: AuthorizationRequest, provider: ProviderSession, now: number, prompt: Set<string>) {
  if (acrFor(provenAcr(provider.session.amr, provider.session.acr), request.acrValues)) return null;
  const ceiling = await accountCeiling(idShardDb(c, provider.session.id)!, provider.user.id);
  if (!canMeet(ceiling, request.acrValues)) {
    return redirectToClient(c, request, { error: 'unmet_authentication_requirements', error_description: 'This account cannot meet the requested acr_values.' });
  }
  if (prompt.has('none')) return redirectToClient(c, request, { error: 'login_required', error_description: 'A stronger sign-in is needed.' });
  // Only a sign-in from now on counts at the next steps.
  return showSignIn(c, client, { ...request, authAfter: now }, now, 'This application asks for a stronger sign-in: use your passkey.');
}
