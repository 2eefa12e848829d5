import { env } from 'cloudflare:test';
import { base64url, SignJWT, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { call, decodeJwtPayload, PASSWORD, snapshot } from '../helpers';

/** The key the Worker signs with (HS256 over JWT_SECRET's bytes, src/crypto/keys.ts). */
export const OUR_KEY = new TextEncoder().encode(env.JWT_SECRET);
/** Somebody else's key: what an attacker signs with. */
export const ATTACKER_KEY = new TextEncoder().encode('attacker-secret-0123456789abcdef0123456789abcdef');

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A genuine token's claims, for forging variants that differ in one thing. */
export function claimsOf(token: string): JWTPayload {
  return decodeJwtPayload(token) as JWTPayload;
}

/** Signs `payload` exactly as given (no defaults added) with `alg` and extra header fields. */
export function sign(payload: JWTPayload, options: { key?: Uint8Array; alg?: string; header?: Record<string, unknown> } = {}) {
  const alg = options.alg ?? 'HS256';
  return new SignJWT(payload).setProtectedHeader({ ...options.header, alg, typ: 'JWT' }).sign(options.key ?? OUR_KEY);
}

/** An unsigned token (`alg: none` in any spelling): header.payload. with an empty signature. */
export function unsigned(payload: JWTPayload, alg: string): string {
  return `${enc({ alg, typ: 'JWT' })}.${enc(payload)}.`;
}

/** Header and payload re-encoded by hand, signed with HMAC-SHA-256 of our key: algorithm confusion. */
export async function hmacWithHeader(header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  const input = `${enc(header)}.${enc(payload)}`;
  const key = await crypto.subtle.importKey('raw', OUR_KEY, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)));
  return `${input}.${base64url.encode(mac)}`;
}

/** Every route that takes a token, each with a body that would act if the token were accepted. */
export const TOKEN_ROUTES: { method: 'GET' | 'POST'; path: string; json?: unknown }[] = [
  { method: 'POST', path: '/create-otp' },
  { method: 'GET', path: '/qrcode' },
  { method: 'POST', path: '/otp-verify', json: { code: '123456' } },
  { method: 'GET', path: '/me' },
  { method: 'POST', path: '/recovery-codes' },
  { method: 'POST', path: '/disable-otp', json: { password: PASSWORD } },
  { method: 'POST', path: '/logout', json: { all: true } },
];

/**
 * API.md: 401 unauthorized with a Bearer challenge on every token route, and
 * nothing stored. RFC 6750 §3.1: a bearer token that is not good gets
 * `error="invalid_token"`; a header of another scheme (or none) is no bearer
 * token at all and gets the bare challenge.
 */
export async function expectRefusedEverywhere(label: string, authorization: string, presented = 'Bearer error="invalid_token"'): Promise<void> {
  const challenge = /^bearer(\s|$)/i.test(authorization) ? presented : 'Bearer';
  const before = await snapshot();
  for (const route of TOKEN_ROUTES) {
    const r = await call(route.path, { method: route.method, json: route.json, headers: { Authorization: authorization } });
    expect([label, route.path, r.status, r.body?.error, r.headers.get('WWW-Authenticate')]).toEqual([
      label,
      route.path,
      401,
      'unauthorized',
      challenge,
    ]);
  }
  expect(await snapshot(), label).toBe(before);
}
