import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { idShardDb } from '../../http/middleware/shard';
import { issueCode } from './codes';
import { hasConsent } from './consents';
import { consentForm } from './pages/enroll';
import { signInForm } from './pages/sign-in';
import { touchProviderSession, type ProviderSession } from './provider-session';
import type { OidcClientRow } from './tables';
import { makeTicket, type AuthorizationRequest } from './ticket';
import { redirectToClient, render, stepContext } from './web';

type C = Context<AppEnv>;

/** The sign-in page of a request (a fresh ticket: the request, signed). */
export async function showSignIn(c: C, client: OidcClientRow, request: AuthorizationRequest, now: number, alert?: string) {
  const step = await stepContext(c, client, await makeTicket(c.get('settings').oidcKey, request, now), request.redirectUri);
  return render(c, 'Sign in', signInForm(step, c.get('settings').oidcSignup), { alert });
}

/**
 * After both factors (now, or in a live provider session): consent if the
 * client is not first-party and this scope set was never allowed, then the
 * code. The code is written only while the provider session is live and
 * full (issueCode's guard), so no path reaches a code without a second factor.
 */
export async function afterSignIn(c: C, client: OidcClientRow, request: AuthorizationRequest, provider: ProviderSession, now: number, options: { prompt?: Set<string>; consented?: boolean } = {}) {
  const db = idShardDb(c, provider.session.id)!;
  const scope = request.scopes.join(' ');
  const prompt = options.prompt ?? new Set<string>();
  const needsConsent = !client.firstParty && !options.consented && (prompt.has('consent') || !(await hasConsent(db, provider.user.id, client.id, scope)));
  if (needsConsent) {
    if (prompt.has('none')) return redirectToClient(c, request, { error: 'consent_required', error_description: 'The person has not allowed this application yet.' });
    const step = await stepContext(c, client, await makeTicket(c.get('settings').oidcKey, request, now), request.redirectUri);
    return render(c, 'Allow access?', consentForm(step, request.scopes));
  }
  const offline = client.firstParty || request.scopes.includes('offline_access');
  const code = await issueCode(db, request, { userId: provider.user.id, providerSessionId: provider.session.id, scopes: request.scopes, offline }, now);
  if (!code) return showSignIn(c, client, request, now, 'Your session ended. Sign in again.');
  await touchProviderSession(db, provider.session.id, now);
  return redirectToClient(c, request, { code });
}
