/**
 * In-workerd micro-benchmarks and the seeder for the end-to-end runs. Never
 * deployed: `bench/run.mjs` serves it with `wrangler dev -c bench/micro.toml`
 * (nodejs_compat is on here only, for the node:crypto comparisons) and calls
 * one loop per request, so the driver can interleave the contenders.
 *
 * GET  /totp?impl=ours|ours-import|otplib|hmac&n=N   N verifies (±1 step)
 * GET  /jwt?impl=ours|jose&n=N                       N sign+verify pairs
 * GET  /verify?impl=eddsa|hs256|eddsa-jose|ed25519-raw&n=N   N verifies of one token (key cached)
 * GET  /scrypt?impl=noble|native                     one hash, production parameters
 * POST /seed {otpUsers, meUsers, refreshUsers, loginUsers, passkeyUsers, password} rows in the shared local D1
 */
import { createHmac, scrypt as nodeScrypt, timingSafeEqual } from 'node:crypto';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { jwtVerify, SignJWT } from 'jose';
import { verify as otplibVerify } from 'otplib';
import { createSecret } from '../../src/core/second-factor/totp-secret';
import { SCRYPT_KEY_BYTES, SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R } from '../../src/settings/tunables';
import { base32Decode, base32Encode } from '../../src/crypto/base32';
import { hashPassword, PRODUCTION_PARAMS } from '../../src/crypto/password';
import { importOtpKey } from '../../src/crypto/hotp';
import { generateTotp, verifyTotp } from '../../src/crypto/totp';
import { issueSessionTokens } from '../../src/core/sessions/tokens';
import { newSession } from '../../src/core/sessions/store';
import { getDb } from '../../src/db/client';
import { getSettings, type Settings } from '../../src/settings';
import { signAccessToken, verifyAccessToken } from '../../src/tokens/access-token';
import { AUDIENCE, signToken, verifyToken } from '../../src/tokens/jwt';

interface BenchEnv {
  DB: D1Database;
  JWT_SECRET: string;
  TOTP_ENCRYPTION_KEY: string;
  ISSUER: string;
  ACCESS_TOKEN_TTL_SECONDS: string;
  MFA_TOKEN_TTL_SECONDS: string;
  CORS_ORIGINS: string;
}

const settingsOf = (env: BenchEnv): Promise<Settings> => getSettings(env as unknown as Env);

/** A node:crypto TOTP verify written the way one would without WebCrypto: same window, same checks. */
function hmacVerify(secret: Buffer, code: string, nowSeconds: number): number | null {
  const current = Math.floor(nowSeconds / 30);
  const expected = Buffer.from(code);
  let matched: number | null = null;
  for (let step = current - 1; step <= current + 1; step++) {
    const message = Buffer.alloc(8);
    message.writeBigUInt64BE(BigInt(step));
    const mac = createHmac('sha1', secret).update(message).digest();
    const offset = mac[mac.length - 1]! & 0x0f;
    const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
    const candidate = Buffer.from((binary % 1_000_000).toString().padStart(6, '0'));
    if (timingSafeEqual(candidate, expected) && matched === null) matched = step;
  }
  return matched;
}

async function totpLoop(impl: string, n: number): Promise<{ ms: number; ok: number }> {
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const base32 = base32Encode(secret);
  const now = Math.floor(Date.now() / 1000);
  const key = await importOtpKey(secret);
  // A code for the last step of the window, so every contender computes all three HMACs.
  const code = await generateTotp(key, now + 30);
  const secretBuffer = Buffer.from(secret);
  let ok = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    let matched: boolean;
    if (impl === 'ours') matched = (await verifyTotp(key, code, now)) !== null;
    else if (impl === 'ours-import') matched = (await verifyTotp(await importOtpKey(base32Decode(base32)!), code, now)) !== null;
    else if (impl === 'otplib') matched = (await otplibVerify({ secret: base32, token: code, epoch: now, epochTolerance: 30 })).valid;
    else if (impl === 'hmac') matched = hmacVerify(secretBuffer, code, now) !== null;
    else throw new Error(`unknown impl ${impl}`);
    if (matched) ok++;
  }
  return { ms: performance.now() - start, ok };
}

async function jwtLoop(env: BenchEnv, impl: string, n: number): Promise<{ ms: number; ok: number }> {
  const settings = await settingsOf(env);
  const raw = new TextEncoder().encode(env.JWT_SECRET);
  const claims = { sub: 'u1', username: 'alice', sid: 's1', authorized: true, amr: ['pwd', 'otp'] };
  let ok = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const now = Math.floor(Date.now() / 1000);
    if (impl === 'ours') {
      const token = await signToken(settings, claims, now, 900);
      if (await verifyToken(settings, token, now)) ok++;
    } else if (impl === 'jose') {
      // The common pattern: hand jose the secret bytes on every call, so it imports a key each time.
      const token = await new SignJWT({ username: claims.username, sid: claims.sid, authorized: true, amr: claims.amr })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(settings.issuer)
        .setAudience(AUDIENCE)
        .setSubject(claims.sub)
        .setJti(crypto.randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 900)
        .sign(raw);
      const { payload } = await jwtVerify(token, raw, {
        algorithms: ['HS256'],
        issuer: settings.issuer,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
      if (payload.sub === claims.sub) ok++;
    } else throw new Error(`unknown impl ${impl}`);
  }
  return { ms: performance.now() - start, ok };
}

/**
 * Verifying one token N times, as a route does: the access token (Ed25519, the
 * key found by kid in the per-isolate cache) against the password-only HS256
 * token (the key imported once). The issue's budget: within 3× of HS256.
 */
async function verifyLoop(env: BenchEnv, impl: string, n: number): Promise<{ ms: number; ok: number }> {
  const settings = await settingsOf(env);
  const db = getDb(env.DB);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'u1', username: 'alice', sid: 's1', amr: ['pwd', 'otp'] };
  let verify: () => Promise<boolean>;
  if (impl === 'eddsa') {
    const { token } = await signAccessToken(db, settings, { ...claims, authTimeSeconds: now, sessionEndsAtSeconds: now + 3600 }, now);
    verify = async () => (await verifyAccessToken(db, settings, token, now)) !== null;
  } else if (impl === 'eddsa-jose' || impl === 'ed25519-raw') {
    // For reference: what our verify is made of. A key of our own, imported once.
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const token = await new SignJWT({ sid: claims.sid, auth_time: now, acr: 'aal2', amr: claims.amr, username: claims.username, authorized: true })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(claims.sub)
      .setJti('j1')
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(pair.privateKey);
    if (impl === 'eddsa-jose') {
      const options = { algorithms: ['EdDSA'], typ: 'at+jwt', issuer: settings.issuer, audience: settings.audience, currentDate: new Date(now * 1000) };
      verify = async () => (await jwtVerify(token, pair.publicKey, options)).payload.sub === claims.sub;
    } else {
      const dot = token.lastIndexOf('.');
      const signed = new TextEncoder().encode(token.slice(0, dot));
      const signature = Uint8Array.from(atob(token.slice(dot + 1).replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      verify = () => crypto.subtle.verify('Ed25519', pair.publicKey, signature, signed);
    }
  } else if (impl === 'hs256') {
    const token = await signToken(settings, { ...claims, authorized: false, amr: ['pwd'] }, now, 300);
    verify = async () => (await verifyToken(settings, token, now)) !== null;
  } else throw new Error(`unknown impl ${impl}`);
  await verify(); // the key cache is warm, as in a running isolate
  let ok = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) if (await verify()) ok++;
  return { ms: performance.now() - start, ok };
}

async function scryptOnce(impl: string): Promise<{ ms: number; ok: number }> {
  const password = new TextEncoder().encode('correct horse battery staple');
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const N = 2 ** SCRYPT_LOG_N;
  const start = performance.now();
  let key: Uint8Array;
  if (impl === 'noble') {
    key = await scryptAsync(password, salt, { N, r: SCRYPT_R, p: SCRYPT_P, dkLen: SCRYPT_KEY_BYTES });
  } else if (impl === 'native') {
    key = await new Promise<Uint8Array>((resolve, reject) =>
      nodeScrypt(password, salt, SCRYPT_KEY_BYTES, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 64 * 1024 * 1024 }, (error, derived) =>
        error ? reject(error) : resolve(new Uint8Array(derived)),
      ),
    );
  } else throw new Error(`unknown impl ${impl}`);
  return { ms: performance.now() - start, ok: key.length === SCRYPT_KEY_BYTES ? 1 : 0 };
}

interface SeedRequest {
  prefix: string;
  otpUsers: number;
  meUsers: number;
  refreshUsers: number;
  loginUsers: number;
  /** One passkey each (bench/authenticator.mjs made the key; only its public half comes here). */
  passkeyUsers: { credentialId: string; publicKey: string; algorithm: number }[];
  /** TOTP-enrolled accounts that sign in through the provider's hosted pages (POST /token's codes come from their provider sessions). */
  oidcUsers?: number;
  password: string;
}

/**
 * Rows as the app would have written them: secrets sealed with the app's own
 * createSecret, tokens signed with its own signToken, one live session per
 * token. Each /otp-verify user gets a password-only session (one success each,
 * since a success retires the session and spends the step); /me users get full
 * sessions (an access token from the app's own issueSessionTokens) and ten
 * recovery codes; /refresh users a full session each, whose refresh token is
 * good for one rotation; /login users share one real scrypt hash.
 */
async function seed(env: BenchEnv, request: SeedRequest): Promise<unknown> {
  const settings = await settingsOf(env);
  const now = Math.floor(Date.now() / 1000);
  const passwordHash = await hashPassword(request.password, PRODUCTION_PARAMS);
  const statements: D1PreparedStatement[] = [];
  const insertUser = env.DB.prepare(
    'INSERT INTO users (id, username, username_key, password_hash, created_at, totp_secret, totp_last_step) VALUES (?1, ?2, ?2, ?3, ?4, ?5, 0)',
  );
  const insertSession = env.DB.prepare(
    'INSERT INTO sessions (id, user_id, authorized, created_at, expires_at, auth_time, amr, generation, rotated_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?6, ?4)',
  );
  const db = getDb(env.DB);
  const insertCode = env.DB.prepare('INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES (?1, ?2, ?3, ?4)');
  const insertPasskey = env.DB.prepare(
    // passwordless = 1: registered with UV, so the same passkey serves /webauthn/signin/verify too.
    "INSERT INTO webauthn_credentials (id, user_id, public_key, algorithm, sign_count, backup_eligible, backup_state, user_verified, passwordless, transports, name, created_at) VALUES (?1, ?2, ?3, ?4, 0, 0, 0, 1, 1, 'internal', 'bench', ?5)",
  );
  const otp: { secret: string; token: string }[] = [];
  const me: { token: string; sid: string }[] = [];
  const refresh: string[] = [];
  const logins: string[] = [];
  const passkey: { id: string; token: string }[] = [];
  const user = async (kind: string, i: number, authorized: boolean) => {
    const id = `${request.prefix}-${kind}-${i}`;
    const username = id.toLowerCase();
    const secret = await createSecret(settings, id);
    statements.push(insertUser.bind(id, username, passwordHash, now, secret.sealed));
    const session = { ...newSession(settings, id, authorized, now), id: crypto.randomUUID() };
    const sid = session.id;
    statements.push(insertSession.bind(sid, id, authorized ? 1 : 0, now, session.expiresAt, authorized ? now : null, session.amr));
    if (!authorized) {
      const token = await signToken(settings, { sub: id, username, sid, authorized, amr: ['pwd'] }, now, settings.mfaTokenTtlSeconds);
      return { id, username, secret: secret.base32, token, sid, refreshToken: '' };
    }
    const tokens = await issueSessionTokens(db, settings, { id, username }, session, now);
    return { id, username, secret: secret.base32, token: tokens.token, sid, refreshToken: tokens.refreshToken };
  };
  for (let i = 0; i < request.otpUsers; i++) {
    const u = await user('otp', i, false);
    otp.push({ secret: u.secret, token: u.token });
  }
  for (let i = 0; i < request.meUsers; i++) {
    const u = await user('me', i, true);
    for (let c = 0; c < 10; c++) statements.push(insertCode.bind(`${u.id}-rc${c}`, u.id, `hash-${c}`, now));
    me.push({ token: u.token, sid: u.sid });
  }
  for (let i = 0; i < request.refreshUsers; i++) refresh.push((await user('refresh', i, true)).refreshToken);
  for (let i = 0; i < request.loginUsers; i++) logins.push((await user('login', i, false)).username);
  // Accounts with TOTP and a passkey, each with a password-only session (one /webauthn/login/verify each).
  for (const [i, credential] of (request.passkeyUsers ?? []).entries()) {
    const u = await user('passkey', i, false);
    statements.push(insertPasskey.bind(credential.credentialId, u.id, credential.publicKey, credential.algorithm, now));
    passkey.push({ id: u.id, token: u.token });
  }
  const oidc: { username: string; secret: string }[] = [];
  for (let i = 0; i < (request.oidcUsers ?? 0); i++) {
    const u = await user('oidc', i, false);
    oidc.push({ username: u.username, secret: u.secret });
  }
  for (let i = 0; i < statements.length; i += 500) await env.DB.batch(statements.slice(i, i + 500));
  return { now, otp, me, refresh, logins, passkey, oidc, rows: statements.length };
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const impl = url.searchParams.get('impl') ?? '';
    const n = Number(url.searchParams.get('n') ?? '1');
    try {
      if (url.pathname === '/totp') return Response.json(await totpLoop(impl, n));
      if (url.pathname === '/jwt') return Response.json(await jwtLoop(env, impl, n));
      if (url.pathname === '/verify') return Response.json(await verifyLoop(env, impl, n));
      if (url.pathname === '/scrypt') return Response.json(await scryptOnce(impl));
      if (url.pathname === '/seed' && request.method === 'POST') return Response.json(await seed(env, await request.json()));
      return new Response('not found', { status: 404 });
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
  },
};
