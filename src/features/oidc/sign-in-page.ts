/**
 * The provider's sign-in page (API.md, "The provider session and the hosted pages"): the
 * password form, and passwordless sign-in (issue 21): "Sign in with a passkey" and the
 * username field's autofill, with a fresh sign-in challenge (stateless: nothing stored)
 * and the page's one script.
 */
import type { Context } from 'hono';
import { signinOptions } from '../../core/passwordless/signin';
import type { AppEnv } from '../../http/app-env';
import { nowSeconds } from '../../core/time';
import { signInForm, type StepContext } from './pages/sign-in';
import { SIGNIN_PASSKEY_SCRIPT } from './pages/scripts.generated';
import { render } from './web';

/** The sign-in page: the password form, and "Sign in with a passkey" with autofill (a fresh sign-in challenge). */
export async function signInPage(c: Context<AppEnv>, step: StepContext, username: string | undefined, alert?: string): Promise<Response> {
  const settings = c.get('settings');
  const offer = await signinOptions(settings, nowSeconds());
  const passkey = { challengeId: offer.challengeId, optionsJson: JSON.stringify(offer.publicKey) };
  return render(c, 'Sign in', signInForm(step, settings.oidcSignup, username, passkey), { alert, script: SIGNIN_PASSKEY_SCRIPT });
}

