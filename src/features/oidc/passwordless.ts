/**
 * Passwordless sign-in on the provider's sign-in page (issue 21; API.md, "Passwordless
 * passkey sign-in"): the page carries a sign-in challenge (stateless, nothing stored) for
 * "Sign in with a passkey" and the username field's autofill, and POST
 * /authorize/passkey-signin verifies the assertion with the JSON route's own flow
 * (core/passwordless: UV required, the user handle checked against the credential's
 * owner, the per-credential and per-network budgets, one commit). The session it opens
 * is the provider session: its cookie is set, then consent or the code, as after any
 * sign-in. The session records `acr` `phrh` or `phr`, and `amr` `pop mfa`.
 */
import type { Context } from 'hono';
import { ApiError } from '../../core/errors';
import { signInWithPasskey } from '../../core/passwordless/signin';
import type { AppEnv } from '../../http/app-env';
import { clientInfo } from '../../http/middleware/client-info';
import { idShardDb, signinDbs } from '../../http/middleware/shard';
import { nowSeconds } from '../../core/time';
import { afterSignIn, showSignIn } from './grant-flow';
import { signInPage } from './sign-in-page';
import { liveProviderSession } from './provider-session';
import { readStep, setProviderCookie } from './web';

type C = Context<AppEnv>;

const REFUSED = 'That passkey was not accepted for signing in. It may have been added without a PIN or fingerprint (then it only works after the password), or removed. Use your password instead.';
const NOT_USED = 'No passkey was used. Try again, or use your password.';

/** What a person reads when the passkey did not sign them in; anything else is a bug, thrown. */
function refusalOf(error: unknown): string {
  if (!(error instanceof ApiError)) throw error;
  if (error.code === 'invalid_credentials') return REFUSED;
  if (error.code === 'validation_failed') return NOT_USED;
  if (error.code === 'too_many_requests') return `Too many attempts. Try again in ${error.extra?.retryAfterSeconds ?? 30} seconds, or use your password.`;
  throw error;
}

/** POST /authorize/passkey-signin: `challengeId` and `response` (the assertion's WebAuthn L3 JSON). */
export async function passwordlessStep(c: C): Promise<Response> {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const again = (alert: string) => signInPage(c, s.step, s.request.loginHint, alert);
  let response: unknown;
  try {
    response = JSON.parse(s.form.get('response') ?? '');
  } catch {
    return again(NOT_USED);
  }
  let signedIn;
  try {
    signedIn = await signInWithPasskey(signinDbs(c), c.get('settings'), { challengeId: s.form.get('challengeId') ?? '', response }, now, clientInfo(c));
  } catch (error) {
    return again(refusalOf(error));
  }
  await setProviderCookie(c, signedIn.sessionId);
  const provider = await liveProviderSession(idShardDb(c, signedIn.sessionId)!, signedIn.sessionId, now, c.get('settings').sessionIdleSeconds);
  if (!provider) return showSignIn(c, s.client, s.request, now, 'Your session ended. Sign in again.');
  return afterSignIn(c, s.client, s.request, provider, now);
}
