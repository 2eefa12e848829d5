import { base64url, compactVerify, SignJWT, type JWTPayload } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { signAccessToken, verifyAccessToken, type NewAccessToken } from '../../src/tokens/access-token';
import { decodeJsonSegment, parseCompactJws } from '../../src/tokens/compact-jws';
import { currentSigningKey } from '../../src/tokens/signing-keys';
import { clearKeys, DAY, isolate, T0, tokenSettings } from './support';

beforeEach(clearKeys);

const NEW: NewAccessToken = { sub: 'user-1', username: 'alice', sid: 'session-1', amr: ['pwd', 'otp'], authTimeSeconds: T0 - 10, sessionEndsAtSeconds: T0 + DAY, jti: 'jti-1' };
const enc = (value: unknown) => base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));

async function setup() {
  const db = isolate();
  const settings = await tokenSettings();
  const issued = await signAccessToken(db, settings, NEW, T0);
  const [, body, signature] = issued.token.split('.');
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(body!))) as JWTPayload;
  const ours = await currentSigningKey(db, settings, T0);
  /** Our real key over any header and payload segments: only their content is wrong. */
  const signedRaw = async (headerSegment: string, payloadSegment: string) => {
    const input = `${headerSegment}.${payloadSegment}`;
    const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', ours.key, new TextEncoder().encode(input)));
    return `${input}.${base64url.encode(sig)}`;
  };
  const header = { alg: 'EdDSA', typ: 'at+jwt', kid: issued.kid };
  return { db, settings, issued, payload, signature: signature!, ours, signedRaw, header };
}

describe('our compact JWS for access tokens', () => {
  it('signs byte for byte what jose SignJWT signs, and jose verifies it', async () => {
    const { issued, payload, ours, header } = await setup();
    const { sid, auth_time, acr, amr, username, authorized } = payload;
    const jose = await new SignJWT({ sid, auth_time, acr, amr, username, authorized })
      .setProtectedHeader(header)
      .setIssuer(payload.iss!)
      .setAudience(payload.aud!)
      .setSubject(payload.sub!)
      .setJti(payload.jti!)
      .setIssuedAt(payload.iat!)
      .setExpirationTime(payload.exp!)
      .sign(ours.key);
    expect(issued.token).toBe(jose);
    const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: (await import('../../src/tokens/jwks').then((m) => m.jwks(isolate(), T0))).document.keys[0]!.x }, { name: 'Ed25519' }, false, ['verify']);
    await expect(compactVerify(issued.token, publicKey)).resolves.toBeDefined();
  });

  it('decodes base64url exactly as jose does, for every length', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      const json = JSON.stringify({ b: Array.from(bytes) });
      expect(decodeJsonSegment(enc(json))).toEqual({ b: Array.from(bytes) });
    }
  });

  it('refuses what is not three clean segments with a 64-byte signature', async () => {
    const { issued, signature } = await setup();
    const [h, p] = issued.token.split('.');
    expect(parseCompactJws(issued.token)).not.toBeNull();
    const malformed = [
      `${h}.${p}`,
      `${h}.${p}.${signature}.`,
      `${h}.${p}.${signature}.${signature}`,
      `.${p}.${signature}`,
      `${h}..${signature}`,
      `${h}.${p}.`,
      `${h}=.${p}.${signature}`,
      `${h}.${p}.${signature}=`,
      ` ${h}.${p}.${signature}`,
      `${h}.${p}.${signature.slice(0, -2)}`, // 63 bytes
      `${h}.${p}.${signature}AA`, // 65 bytes
      `${h}.${p}.${signature.replace(/^./, '+')}`, // base64, not base64url
      `${h}.${p}.${signature.replace(/^./, 'é')}`,
      `${enc('[1]')}.${p}.${signature}`, // header not an object
      `${enc('"EdDSA"')}.${p}.${signature}`,
      `${base64url.encode(Uint8Array.of(0xff, 0xfe))}.${p}.${signature}`, // not UTF-8
      `${enc('\uFEFF{"alg":"EdDSA"}')}.${p}.${signature}`, // a byte-order mark
    ];
    for (const token of malformed) expect(parseCompactJws(token), token).toBeNull();
  });
});

describe('access token claims, checked by our verifier with a genuine signature', () => {
  it('accepts the token as issued until exp and not after', async () => {
    const { db, settings, issued, payload } = await setup();
    expect(await verifyAccessToken(db, settings, issued.token, T0)).toEqual(payload);
    expect(await verifyAccessToken(db, settings, issued.token, issued.exp - 1)).toEqual(payload);
    expect(await verifyAccessToken(db, settings, issued.token, issued.exp)).toBeNull();
  });

  it('refuses crit and b64 headers: we never set them (RFC 7515 §4.1.11, RFC 7797)', async () => {
    // Attack: a header extension the verifier would have to understand, or an unencoded payload.
    const { db, settings, issued, signedRaw, header } = await setup();
    const body = issued.token.split('.')[1]!;
    expect(await verifyAccessToken(db, settings, await signedRaw(enc(header), body), T0 + 1)).not.toBeNull();
    for (const extra of [{ crit: ['exp'] }, { crit: ['b64'], b64: true }, { b64: false }]) {
      expect(await verifyAccessToken(db, settings, await signedRaw(enc({ ...header, ...extra }), body), T0 + 1)).toBeNull();
    }
  });

  it('refuses a payload that is not a JSON object, even when signed', async () => {
    const { db, settings, signedRaw, header } = await setup();
    for (const body of [enc('[]'), enc('"x"'), enc('{'), base64url.encode(Uint8Array.of(0xc3, 0x28))]) {
      expect(await verifyAccessToken(db, settings, await signedRaw(enc(header), body), T0 + 1)).toBeNull();
    }
  });

  it('refuses nbf in the future, and times that are not integer seconds', async () => {
    const { db, settings, payload, signedRaw, header } = await setup();
    const signed = (claims: Record<string, unknown>) => signedRaw(enc(header), enc(claims));
    expect(await verifyAccessToken(db, settings, await signed({ ...payload, nbf: T0 }), T0 + 1)).not.toBeNull();
    expect(await verifyAccessToken(db, settings, await signed({ ...payload, nbf: T0 + 2 }), T0 + 1)).toBeNull();
    for (const bad of [{ nbf: 'soon' }, { exp: payload.exp! + 0.5 }, { iat: `${T0}` }, { auth_time: null }, { auth_time: T0 - 0.5 }]) {
      expect(await verifyAccessToken(db, settings, await signed({ ...payload, ...bad }), T0 + 1), JSON.stringify(bad)).toBeNull();
    }
    // JSON.stringify turns 1e400 into null; the raw text 1e400 parses to Infinity.
    for (const [claim, text] of [['exp', '1e400'], ['auth_time', '-1e400']] as const) {
      const infinite = await signedRaw(enc(header), enc(JSON.stringify(payload).replace(`"${claim}":${payload[claim]}`, `"${claim}":${text}`)));
      expect(await verifyAccessToken(db, settings, infinite, T0 + 1), claim).toBeNull();
    }
  });

  it('refuses a typ or alg spelled otherwise, though jose would normalize typ', async () => {
    const { db, settings, issued, signedRaw, header } = await setup();
    const body = issued.token.split('.')[1]!;
    for (const wrong of [{ typ: 'AT+JWT' }, { typ: 'application/at+jwt' }, { alg: 'eddsa' }, { alg: 'Ed25519' }]) {
      expect(await verifyAccessToken(db, settings, await signedRaw(enc({ ...header, ...wrong }), body), T0 + 1)).toBeNull();
    }
  });
});
