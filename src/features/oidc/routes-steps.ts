import type { Context } from 'hono';
import { authenticate } from '../../core/sessions/lookup';
import { login, type LoginResult } from '../../core/login';
import type { AuthContext } from '../../core/sessions/lookup';
import type { SessionRow } from '../../db/schema';
import { startEnrollment, pendingEnrollment } from '../../core/second-factor/enroll';
import { qrSvg, svgDataUrl } from '../../core/second-factor/qr';
import { register } from '../../core/register';
import { proveSecondFactor } from '../../core/second-factor/code';
import { assertionOptions, verifyPasskey } from '../../core/second-factor/passkey';
import type { Db } from '../../db/client';
import type { TokenClaims } from '../../tokens/jwt';
import { PASSKEY_SCRIPT } from './pages/scripts.generated';
import type { AppEnv } from '../../http/app-env';
import { ApiError } from '../../core/errors';
import { clientInfo } from '../../http/middleware/client-info';
import { idShardDb, usernameShard } from '../../http/middleware/shard';
import { routeGroup } from '../../http/openapi/declare';
import { credentialsSchema, otpCode, recoveryCodeInput, registrationSchema } from '../../http/schemas';
import { nowSeconds } from '../../core/time';
import { verifyToken } from '../../tokens/jwt';
import { recordConsent } from './consents';
import { afterSignIn, allowAndCode, codeWithProof, errorBack, showSignIn } from './grant-flow';
import { enrollForm, recoveryCodesForm } from './pages/enroll';
import { secondFactorForms, signUpForm, type StepContext } from './pages/sign-in';
import { signInPage } from './sign-in-page';
import { passwordlessStep } from './passwordless';
import { protocolRoute } from './route-doc';
import { liveProviderSession, markDeviceBound } from './provider-session';
import { readTicket } from './ticket';
import { errorPage, loginCookie, providerSessionOf, readStep, render, setLoginCookie, setProviderCookie, stepContext, type Step } from './web';
import { findClient } from './clients';
import { primaryDb } from '../../db/shards';
import { ipFloodFilterAs } from '../../http/middleware/rate-limit';

type C = Context<AppEnv>;

const seconds = (n: number) => (n === 1 ? '1 second' : `${n} seconds`);

/** What a person reads for an expected refusal (API.md: the same form again, the reason in role="alert"). */
function reasonOf(error: unknown): string {
  if (!(error instanceof ApiError)) throw error;
  switch (error.code) {
    case 'invalid_credentials':
      return 'The username or password is wrong.';
    case 'invalid_code':
      return 'That code is wrong or was already used.';
    case 'too_many_requests':
      return `Too many attempts. Try again in ${seconds(error.extra?.retryAfterSeconds ?? 30)}.`;
    // The password-hash queue past its bound (crypto/hash-gate.ts): nothing was spent; the form again, not a JSON 503.
    case 'unavailable':
      return `Too many sign-ins at once here. Try again in ${seconds(error.extra?.retryAfterSeconds ?? 2)}.`;
    case 'factor_locked':
      return 'Too many wrong codes: codes are refused until a recovery code succeeds or support unlocks the account.';
    case 'weak_password':
      return error.message;
    case 'username_taken':
      return 'That username is already registered.';
    case 'unauthorized':
    case 'mfa_already_enabled':
      return 'Your sign-in took too long. Enter your password again.';
    default:
      throw error;
  }
}

async function enrollPage(c: C, step: StepContext, enrollment: { secret: string; uri: string }, alert?: string) {
  return render(c, 'Set up a second factor', enrollForm(step, { ...enrollment, qrDataUrl: svgDataUrl(qrSvg(enrollment.uri)) }), { alert });
}

/**
 * The second-factor page: a TOTP code if the account has one, a passkey if it
 * has any (the options made now, bound to this password-only session and to
 * `login`), and a recovery code always.
 */
async function secondFactorPage(c: C, s: Pick<Step, 'step' | 'request'>, pending: { claims: TokenClaims; db: Db }, now: number, alert?: string, known?: AuthContext) {
  const settings = c.get('settings');
  const auth = known ?? (await authenticate(pending.db, pending.claims, 'any', now, settings.sessionIdleSeconds));
  const offer = auth.passkeyCount > 0 ? await assertionOptions(pending.db, settings, auth, now) : null;
  const passkey = offer ? { challengeId: offer.challengeId, optionsJson: JSON.stringify(offer.publicKey) } : null;
  // acr_values that a code cannot meet: the passkey alone is offered (the recovery code stays: the way back into an account).
  const wanted = s.request.acrValues ?? [];
  const codeMeets = wanted.length === 0 || wanted.includes('aal2') || !passkey;
  return render(c, 'Second step', secondFactorForms(s.step, auth.user.totpSecret !== null && codeMeets, passkey), { alert, script: passkey ? PASSKEY_SCRIPT : undefined });
}

/** The second factor was proven: the promoted session is the provider session; only now does the browser get its cookie. */
async function finishSignIn(c: C, s: Step, pending: { claims: TokenClaims; db: Db }, now: number, recoveryCodes?: string[]) {
  await setProviderCookie(c, pending.claims.sid);
  if (recoveryCodes) return render(c, 'Save your recovery codes', recoveryCodesForm(s.step, recoveryCodes));
  return continueSignIn(c, s, pending, now);
}

/** After the cookie: the provider session as stored, then consent or the code. */
async function continueSignIn(c: C, s: Step, pending: { claims: TokenClaims; db: Db }, now: number) {
  const provider = await liveProviderSession(pending.db, pending.claims.sid, now, c.get('settings').sessionIdleSeconds);
  if (!provider) return showSignIn(c, s.client, s.request, now, 'Your session ended. Sign in again.');
  return afterSignIn(c, s.client, s.request, provider, now);
}

/** The password-only session named by the login cookie, or null (expired, or not a password-only token). */
async function pendingLogin(c: C, now: number) {
  const token = loginCookie(c);
  const claims = token ? await verifyToken(c.get('settings'), token, now) : null;
  if (!claims || claims.authorized) return null;
  const db = idShardDb(c, claims.sid);
  return db ? { claims, db } : null;
}

/** After the password: the second factor, or enrollment for an account that has none (mandatory MFA holds here too). */
async function afterPassword(c: C, s: Step, result: LoginResult, now: number) {
  setLoginCookie(c, result.token, result.expiresIn);
  const claims = (await verifyToken(c.get('settings'), result.token, now))!;
  const db = idShardDb(c, claims.sid)!;
  if (result.mfa === 'verify') {
    // What the login just read and wrote, not read back: the JSON twin (/login) makes no read after its batch either.
    const { user, passkeyCount, session } = result.opened;
    const known: AuthContext = { claims, user, sessionId: session.id, authorized: false, recoveryCodesRemaining: 0, passkeyCount, authTime: null, session: { ...session, commitId: null } as SessionRow };
    return secondFactorPage(c, s, { claims, db }, now, undefined, known);
  }
  const auth = await authenticate(db, claims, 'any', now, c.get('settings').sessionIdleSeconds);
  return enrollPage(c, s.step, await startEnrollment(db, c.get('settings'), auth, now, clientInfo(c)));
}

async function passwordStep(c: C) {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const parsed = credentialsSchema.safeParse({ username: s.form.get('username') ?? '', password: s.form.get('password') ?? '' });
  const again = (alert: string) => signInPage(c, s.step, s.form.get('username') ?? '', alert);
  if (!parsed.success) return again('Enter your username and password.');
  try {
    const { username, password } = parsed.data;
    return await afterPassword(c, s, await login(usernameShard(c, username).db, c.get('settings'), username, password, now, clientInfo(c)), now);
  } catch (error) {
    return again(reasonOf(error));
  }
}

/**
 * The second factor, through the JSON API's own flow (verifySecondFactor:
 * the same throttle, replay rule and promotion). The promoted session is the
 * provider session; only now does the browser get its cookie.
 */
async function factorStep(c: C, kind: 'code' | 'recoveryCode' | 'enroll') {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const pending = await pendingLogin(c, now);
  if (!pending) return showSignIn(c, s.client, s.request, now, 'Your sign-in took too long, or this step came first. Enter your password.');
  const { claims, db } = pending;
  const again = async (alert: string) => {
    if (kind !== 'enroll') return secondFactorPage(c, s, pending, now, alert);
    const auth = await authenticate(db, claims, 'any', now, c.get('settings').sessionIdleSeconds);
    return enrollPage(c, s.step, await pendingEnrollment(c.get('settings'), auth, now), alert);
  };
  const input = kind === 'recoveryCode' ? recoveryCodeInput.safeParse(s.form.get('recoveryCode') ?? '') : otpCode.safeParse(s.form.get('code') ?? '');
  if (!input.success) return again(kind === 'recoveryCode' ? 'Enter a recovery code such as ABCDE-FGHIJ.' : 'Enter the 6-digit code from your app.');
  // The code (or the consent page) comes out of the proof's own commit batch where it can (grant-flow.ts, codeWithProof).
  const amr = kind === 'recoveryCode' ? 'pwd rec' : 'pwd otp';
  const withCode = kind === 'enroll' ? null : await codeWithProof(c, db, s.client, s.request, { userId: claims.sub, sessionId: claims.sid, amr }, now);
  let proven;
  try {
    const proof = kind === 'recoveryCode' ? { recoveryCode: input.data } : { code: input.data };
    proven = await proveSecondFactor(db, c.get('settings'), claims, proof, now, { client: clientInfo(c), also: withCode?.also });
  } catch (error) {
    return again(reasonOf(error));
  }
  if (!withCode || proven.recoveryCodes) return finishSignIn(c, s, pending, now, proven.recoveryCodes);
  // The cookie before the answer is made (a response made earlier would not carry it).
  await setProviderCookie(c, claims.sid);
  return (await withCode.answer(proven.also)) ?? continueSignIn(c, s, pending, now);
}

/** A passkey as the second factor, through the JSON API's own flow (verifyPasskey: its budget, counter and challenge rules). */
async function passkeyStep(c: C) {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const pending = await pendingLogin(c, now);
  if (!pending) return showSignIn(c, s.client, s.request, now, 'Your sign-in took too long, or this step came first. Enter your password.');
  let response: unknown = null;
  try {
    response = JSON.parse(s.form.get('response') ?? '');
  } catch {
    return secondFactorPage(c, s, pending, now, 'The passkey was not used. Try again, or use a code.');
  }
  try {
    await verifyPasskey(pending.db, c.get('settings'), pending.claims, { challengeId: s.form.get('challengeId') ?? '', response }, now, { purpose: 'login', client: clientInfo(c) });
  } catch (error) {
    const refusedPasskey = error instanceof ApiError && (error.code === 'invalid_code' || error.code === 'validation_failed');
    return secondFactorPage(c, s, pending, now, refusedPasskey ? 'The passkey was refused. Try again, or use a code.' : reasonOf(error));
  }
  await markDeviceBound(pending.db, pending.claims.sid, pending.claims.sub, (response as { id?: unknown } | null)?.id);
  return finishSignIn(c, s, pending, now);
}

/** After the recovery codes page, and the consent answer: both need a live provider session, never just a password. */
async function continueStep(c: C) {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const provider = await providerSessionOf(c, now, s.request);
  if (!provider) return showSignIn(c, s.client, s.request, now, 'Sign in to continue.');
  return afterSignIn(c, s.client, s.request, provider, now);
}

async function consentStep(c: C) {
  const now = nowSeconds();
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const provider = await providerSessionOf(c, now, s.request);
  if (!provider) return showSignIn(c, s.client, s.request, now, 'Sign in to continue.');
  const decision = s.form.get('decision');
  // An answer counts only from the person the page asked: after a sign-out and someone else's sign-in on this browser, they are asked (or served) themselves.
  if ((decision !== 'allow' && decision !== 'deny') || s.request.consentSession !== provider.session.id) return afterSignIn(c, s.client, s.request, provider, now);
  const source = { userId: provider.user.id, sessionId: provider.session.id, client: clientInfo(c) };
  if (decision === 'allow') return (await allowAndCode(c, s.client, s.request, provider, now, source)) ?? afterSignIn(c, s.client, s.request, provider, now, { consented: true });
  await recordConsent(idShardDb(c, provider.session.id)!, source, s.client.id, s.request.scopes.join(' '), false, now);
  return errorBack(c, s.client, s.request, { error: 'access_denied', error_description: 'The person declined.' });
}

/** Sign-up (OIDC_SIGNUP), with /register's rules, then the password step's path: enrollment. */
async function signUpPage(c: C) {
  const now = nowSeconds();
  if (!c.get('settings').oidcSignup) return errorPage(c, 'Sign-up is turned off here.');
  const ticket = c.req.query('ticket');
  const read = ticket ? await readTicket(c.get('settings').oidcKey, ticket, now) : null;
  const client = read ? (read.client ?? (await findClient(primaryDb(c.env), read.request.clientId))) : null;
  if (!ticket || !read || !client) return errorPage(c, 'This sign-in request has expired or is not valid. Start again from the application.');
  return render(c, 'Create an account', signUpForm(await stepContext(c, client, ticket, read.request.redirectUri)));
}

async function signUpStep(c: C) {
  const now = nowSeconds();
  if (!c.get('settings').oidcSignup) return errorPage(c, 'Sign-up is turned off here.');
  const s = await readStep(c, now);
  if (s instanceof Response) return s;
  const again = (alert: string) => render(c, 'Create an account', signUpForm(s.step, s.form.get('username') ?? ''), { alert });
  const parsed = registrationSchema.safeParse({ username: s.form.get('username') ?? '', password: s.form.get('password') ?? '' });
  if (!parsed.success) return again(parsed.error.issues[0]?.message ?? 'Check the username and password.');
  try {
    const { username, password } = parsed.data;
    const { db, shard } = usernameShard(c, username);
    await register(db, c.get('settings').passwordHashCost, username, password, now, shard);
    return await afterPassword(c, s, await login(db, c.get('settings'), username, password, now, clientInfo(c)), now);
  } catch (error) {
    return again(reasonOf(error));
  }
}

const html = { 'text/html': { schema: { type: 'string' as const } } };
const stepDoc = (path: string, summary: string) => ({
  method: 'post' as const,
  path,
  summary,
  description: 'A hosted page’s form (`application/x-www-form-urlencoded`, with `ticket` and `csrf`). A POST from another site, or without the CSRF token of this browser and request: 403.',
  responses: { 200: { description: 'The next page.', content: html }, 303: { description: 'Back to the client.' }, 403: { description: 'Cross-site, or a bad CSRF token.', content: html } },
});

/** The hosted pages' steps (API.md, "The provider session and the hosted pages"). */
export const stepRoutes = routeGroup();
protocolRoute(stepRoutes, { ...stepDoc('/authorize/password', 'Sign-in: the password'), operationId: 'postAuthorizePassword' }, passwordStep, [ipFloodFilterAs('/login')]);
protocolRoute(stepRoutes, { ...stepDoc('/authorize/otp', 'Sign-in: a TOTP code'), operationId: 'postAuthorizeOtp' }, (c) => factorStep(c, 'code'));
protocolRoute(stepRoutes, { ...stepDoc('/authorize/recovery', 'Sign-in: a recovery code'), operationId: 'postAuthorizeRecovery' }, (c) => factorStep(c, 'recoveryCode'));
protocolRoute(stepRoutes, { ...stepDoc('/authorize/passkey', 'Sign-in: a passkey as the second factor'), operationId: 'postAuthorizePasskey' }, passkeyStep);
protocolRoute(stepRoutes, { ...stepDoc('/authorize/passkey-signin', 'Sign-in: a passkey alone (passwordless)'), operationId: 'postAuthorizePasskeySignin' }, passwordlessStep);
protocolRoute(stepRoutes, { ...stepDoc('/authorize/enroll', 'Sign-in: confirm a new authenticator'), operationId: 'postAuthorizeEnroll' }, (c) => factorStep(c, 'enroll'));
protocolRoute(stepRoutes, { ...stepDoc('/authorize/continue', 'Sign-in: continue after the recovery codes'), operationId: 'postAuthorizeContinue' }, continueStep);
protocolRoute(stepRoutes, { ...stepDoc('/authorize/consent', 'Sign-in: allow or deny a client'), operationId: 'postAuthorizeConsent' }, consentStep);
protocolRoute(stepRoutes, { ...stepDoc('/authorize/signup', 'Sign-up'), operationId: 'postAuthorizeSignup' }, signUpStep, [ipFloodFilterAs('/register')]);
protocolRoute(
  stepRoutes,
  { method: 'get', path: '/authorize/signup', operationId: 'getAuthorizeSignup', summary: 'The sign-up page', description: 'With `ticket` from the sign-in page.', responses: { 200: { description: 'The page.', content: html } } },
  signUpPage,
);
