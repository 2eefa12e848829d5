// An example consumer of client/edge-mfa-client.ts: a whole sign-in with a
// password and a TOTP code, then the profile read with the full token.
// Type-checked as a consumer's project has it (the tsconfig of today's `tsc --init`,
// an ES module; and an older CommonJS one) and run against the Worker by the tests
// (scripts/generate-client.mjs --check, test/openapi/generated-client.test.ts).
// The import names the file with .js, as Node's ES modules need; TypeScript
// resolves it to edge-mfa-client.ts, and so do bundlers.
import { EdgeMfaClient, type Data } from './edge-mfa-client.js';

export interface SignedIn {
  profile: Data<'GET /me'>;
  /** Send to POST /refresh before the access token expires (expiresIn seconds). */
  refreshToken: string;
  expiresIn: number;
}

/**
 * POST /login gives a password-only token, good only for the second step;
 * POST /otp-verify with the current code gives the full token (and a refresh
 * token); GET /me needs that full token (with the password-only one it is 403
 * mfa_required). `currentCode` returns the 6 digits the authenticator app shows.
 */
export async function signIn(api: EdgeMfaClient, username: string, password: string, currentCode: () => string | Promise<string>): Promise<SignedIn> {
  const login = await api.request('POST /login', { body: { username, password } });
  if (!login.ok) throw new Error(`login: ${login.error.error}: ${login.error.message}`);
  if (login.data.mfa === 'enroll') throw new Error('this account has no second factor yet: enroll one first (POST /create-otp)');
  if (!login.data.methods.includes('otp')) throw new Error('this account signs in with a passkey, which needs a browser');
  api.token = login.data.token;

  const verified = await api.request('POST /otp-verify', { body: { code: await currentCode() } });
  if (!verified.ok) throw new Error(`otp-verify: ${verified.error.error}: ${verified.error.message}`);
  api.token = verified.data.token;

  const me = await api.request('GET /me');
  if (!me.ok) throw new Error(`me: ${me.error.error}: ${me.error.message}`);
  return { profile: me.data, refreshToken: verified.data.refreshToken, expiresIn: verified.data.expiresIn };
}
