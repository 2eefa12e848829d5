/** Passkey journeys through the real Worker, with the software authenticator of test/webauthn. */
import { decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { env } from 'cloudflare:test';
import { call, loginUser, registerUser, setNow, type ApiResult } from '../../helpers';
import { SoftwareAuthenticator, type Algorithm, type Forge } from '../../webauthn/authenticator';

/** vitest.config.ts: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS for the suite's BASE, https://mfa.test. */
export const RP_ID = 'mfa.test';
export const ORIGIN = 'https://mfa.test';
const OURS: Forge = { rpId: RP_ID, origin: ORIGIN };

export type Options = { challengeId: string; challenge: Uint8Array; publicKey: Record<string, unknown> };

export async function options(path: 'register' | 'login', token: string): Promise<Options> {
  const r = await call<{ challengeId: string; publicKey: { challenge: string } & Record<string, unknown> }>(`/webauthn/${path}/options`, { token, json: {} });
  if (r.status !== 200) throw new Error(`${path} options: ${r.status} ${r.text}`);
  return { challengeId: r.body.challengeId, challenge: decodeBase64urlIgnorePadding(r.body.publicKey.challenge), publicKey: r.body.publicKey };
}

export type Registered = {
  credential: { id: string; name: string; createdAt: string };
  token?: string;
  refreshToken?: string;
  recoveryCodes?: string[];
};

export async function registerResponse(authenticator: SoftwareAuthenticator, opts: Options, forge: Parameters<SoftwareAuthenticator['register']>[1] = {}) {
  return authenticator.register(opts.challenge, { ...OURS, ...forge });
}

/** register/options then register/verify with `token`. */
export async function addPasskey(token: string, authenticator: SoftwareAuthenticator, forge: Parameters<SoftwareAuthenticator['register']>[1] = {}, headers?: Record<string, string>): Promise<ApiResult<Registered>> {
  const opts = await options('register', token);
  const response = await registerResponse(authenticator, opts, forge);
  return call<Registered>('/webauthn/register/verify', { token, json: { challengeId: opts.challengeId, response }, headers });
}

export const handleOf = (userId: string): Uint8Array => new TextEncoder().encode(userId);

/** A user whose only second factor is one passkey (a first enrollment at `now`). */
export async function passkeyUser(now: number, { algorithm = -7 as Algorithm, backupEligible = false, signCount = 0 } = {}) {
  setNow(now);
  const user = await registerUser();
  const { token } = await loginUser(user.username);
  const authenticator = await SoftwareAuthenticator.create(algorithm, { backupEligible });
  authenticator.signCount = signCount;
  const r = await addPasskey(token, authenticator);
  if (r.status !== 201) throw new Error(`first passkey: ${r.status} ${r.text}`);
  return { ...user, authenticator, passwordToken: token, fullToken: r.body.token!, refreshToken: r.body.refreshToken!, recoveryCodes: r.body.recoveryCodes!, credentialId: r.body.credential.id };
}

type AssertForge = Parameters<SoftwareAuthenticator['assert']>[1];

export async function assertionResponse(authenticator: SoftwareAuthenticator, userId: string, opts: Options, forge: AssertForge = {}) {
  return authenticator.assert(opts.challenge, { ...OURS, userHandle: handleOf(userId), ...forge });
}

export function loginVerify(token: string, challengeId: string, response: unknown, headers?: Record<string, string>) {
  return call<{ token: string; refreshToken: string }>('/webauthn/login/verify', { token, json: { challengeId, response }, headers });
}

/** The password step, then the passkey step. */
export async function passkeyLogin(user: { id: string; username: string; authenticator: SoftwareAuthenticator }, forge: AssertForge = {}) {
  const { token } = await loginUser(user.username);
  const opts = await options('login', token);
  const response = await assertionResponse(user.authenticator, user.id, opts, forge);
  return { token, opts, response, result: await loginVerify(token, opts.challengeId, response) };
}

export async function credentialRow(id: string) {
  return env.DB.prepare('SELECT * FROM webauthn_credentials WHERE id = ?').bind(id).first<{ sign_count: number; user_verified: number; backup_state: number; last_used_at: number | null }>();
}

export async function challengeCount(): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM webauthn_challenges').first<{ n: number }>();
  return row!.n;
}
