/** Passwordless sign-in journeys (issue 21): options, an assertion of a discoverable passkey, verify. */
import { decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { env } from 'cloudflare:test';
import { call, type ApiResult } from '../../helpers';
import type { SoftwareAuthenticator } from '../../webauthn/authenticator';
import { handleOf, ORIGIN, RP_ID, type Options } from './support';

type Send = (path: string, options: { json?: unknown; body?: BodyInit; headers?: Record<string, string>; method?: 'POST' }) => Promise<ApiResult<Record<string, unknown>>>;
const viaSelf: Send = (path, options) => call(path, options);

/** A client on a network (/24) of its own, so the per-network budget of one attempt does not reach another. */
let network = 0;
export function freshIp(): string {
  network += 1;
  return `100.${Math.floor(network / 250) + 64}.${network % 250}.7`;
}

export async function signinOptions(send: Send = viaSelf, headers: Record<string, string> = {}): Promise<Options> {
  const r = await send('/webauthn/signin/options', { method: 'POST', headers });
  if (r.status !== 200) throw new Error(`signin options: ${r.status} ${r.text}`);
  const body = r.body as { challengeId: string; publicKey: { challenge: string } & Record<string, unknown> };
  return { challengeId: body.challengeId, challenge: decodeBase64urlIgnorePadding(body.publicKey.challenge), publicKey: body.publicKey };
}

type AssertForge = Parameters<SoftwareAuthenticator['assert']>[1];

/** What a browser sends for a discoverable credential: the user handle is the owner's id. */
export function signinAssertion(authenticator: SoftwareAuthenticator, userId: string, opts: Options, forge: AssertForge = {}) {
  return authenticator.assert(opts.challenge, { rpId: RP_ID, origin: ORIGIN, userHandle: handleOf(userId), ...forge });
}

export function signinVerify(challengeId: string, response: unknown, ip: string, send: Send = viaSelf) {
  return send('/webauthn/signin/verify', { json: { challengeId, response }, headers: { 'CF-Connecting-IP': ip } }) as Promise<
    ApiResult<{ token: string; refreshToken: string; authorized: boolean; expiresIn: number; error?: string }>
  >;
}

/** options, an assertion, verify: the whole ceremony. */
export async function passwordlessSignin(authenticator: SoftwareAuthenticator, userId: string, ip: string, forge: AssertForge = {}, send: Send = viaSelf) {
  const opts = await signinOptions(send);
  const response = await signinAssertion(authenticator, userId, opts, forge);
  return { opts, response, result: await signinVerify(opts.challengeId, response, ip, send) };
}

export async function liveFullSessions(userId: string, db: D1Database = env.DB): Promise<number> {
  const row = await db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND authorized = 1 AND revoked_at IS NULL').bind(userId).first<{ n: number }>();
  return row!.n;
}

/** Every users row's password and code counters, and every throttle row that is not a sign-in budget. */
export async function otherBudgets(db: D1Database = env.DB): Promise<string> {
  const users = await db.prepare('SELECT id, otp_failures, otp_locked_until, pwd_failures, pwd_locked_until FROM users ORDER BY id').all();
  const throttles = await db.prepare("SELECT * FROM throttles WHERE key NOT LIKE 'pkcred:%' AND key NOT LIKE 'pkip:%' ORDER BY key").all();
  return JSON.stringify([users.results, throttles.results]);
}
