import { primaryDb } from '../../db/shards';
import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { nowSeconds } from '../../core/time';
import { checkAuthorizationRequest, redirectBack } from './authorize';
import { issuerOf } from './config';
import { afterSignIn, showSignIn, stepUpNeeded } from './grant-flow';
import { protocolRoute } from './route-doc';
import { errorPage, flowCookie, formParams, providerSessionOf } from './web';
import { routeGroup } from '../../http/openapi/declare';

const html = { 'text/html': { schema: { type: 'string' as const } } };

/**
 * GET and POST /authorize (API.md, "The authorization request"): checked in
 * the contract's order; then, with a live provider session (SSO), straight
 * on to consent or the code; otherwise the sign-in page. The request itself
 * changes nothing, so it may come from any site (a client's form_post).
 */
async function authorize(c: Context<AppEnv>): Promise<Response> {
  const now = nowSeconds();
  const checked = await checkAuthorizationRequest(primaryDb(c.env), c.get('settings'), await formParams(c), now);
  if (checked.kind === 'page') return errorPage(c, checked.reason);
  if (checked.kind === 'redirect') {
    return c.redirect(redirectBack(checked.redirectUri, issuerOf(c), { error: checked.error, error_description: checked.description, state: checked.state }), 303);
  }
  const { client, request, prompt, hintedSub } = checked;
  flowCookie(c);
  const live = request.forceLogin ? null : await providerSessionOf(c, now, request);
  // OIDC Core §3.1.2.2: with an id_token_hint, only that person's session signs in silently (prompt=none: login_required otherwise).
  const provider = live && (hintedSub === undefined || hintedSub === live.user.id) ? live : null;
  if (provider) return (await stepUpNeeded(c, client, request, provider, now, prompt)) ?? afterSignIn(c, client, request, provider, now, { prompt });
  if (prompt.has('none')) {
    const description = live && !provider ? 'The person the id_token_hint names is not signed in.' : 'No one is signed in.';
    return c.redirect(redirectBack(request.redirectUri, issuerOf(c), { error: 'login_required', error_description: description, state: request.state }), 303);
  }
  return showSignIn(c, client, request, now);
}

export const authorizeRoutes = routeGroup();
for (const method of ['get', 'post'] as const) {
  protocolRoute(
    authorizeRoutes,
    {
      method,
      path: '/authorize',
      operationId: `${method}Authorize`,
      summary: 'OpenID Connect authorization request',
      description:
        '`response_type=code`, `client_id`, `redirect_uri`, `scope` with `openid`, `state`, `nonce`, `code_challenge` + `code_challenge_method=S256` (required), `prompt` (`none`, `login`, `consent`), `max_age`, `acr_values` (`aal2`, `phr`, `phrh`). An unknown client or unregistered redirect URI: an HTML page, 400. Later errors and the code go back to the redirect URI with `state` and `iss`.',
      responses: { 200: { description: 'A hosted sign-in page.', content: html }, 303: { description: 'Back to the client.' }, 400: { description: 'The error page.', content: html } },
    },
    authorize,
  );
}
