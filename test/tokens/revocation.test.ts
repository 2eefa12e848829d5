import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { signAccessToken, verifyAccessToken, type NewAccessToken } from '../../src/tokens/access-token';
import { jwks } from '../../src/tokens/jwks';
import { deriveSigningKeyWrapKey, unsealPrivateKey } from '../../src/tokens/signing-key-crypto';
import { currentSigningKey, REFRESH_SECONDS, rotateSigningKeys, SigningKeyUnavailableError, UNKNOWN_KID_REFRESH_SECONDS } from '../../src/tokens/signing-keys';
import { clearKeys, DAY, HOUR, isolate, keyRows, overlaps, revoke, T0, tokenSettings } from './support';

beforeEach(clearKeys);

const claims = (now: number): NewAccessToken => ({
  sub: 'user-1',
  username: 'alice',
  sid: 'session-1',
  amr: ['pwd', 'otp'],
  authTimeSeconds: now,
  sessionEndsAtSeconds: now + DAY,
});

describe('emergency revoke (the one-line UPDATE of the README)', () => {
  it('a revoked signing key leaves the JWKS, its tokens stop verifying, and a new key signs at once', async () => {
    // Attack: the signing key leaked; the operator revokes it and tokens minted with it must die everywhere.
    const db = isolate();
    const settings = await tokenSettings();
    const before = await signAccessToken(db, settings, claims(T0), T0);
    expect(await verifyAccessToken(db, settings, before.token, T0 + 1)).not.toBeNull();
    await revoke(before.kid);
    const after = T0 + REFRESH_SECONDS;
    expect((await jwks(db, after)).document.keys.map((key) => key.kid)).not.toContain(before.kid);
    expect(await verifyAccessToken(db, settings, before.token, after)).toBeNull();
    const next = await signAccessToken(db, settings, claims(after), after);
    expect(next.kid).not.toBe(before.kid);
    expect(await verifyAccessToken(db, settings, next.token, after + 1)).not.toBeNull();
    expect((await jwks(db, after)).document.keys.map((key) => key.kid)).toEqual([next.kid]);
    // A fresh isolate (no cache at all) agrees at once.
    expect(await verifyAccessToken(isolate(), settings, before.token, T0 + 2)).toBeNull();
    const rows = await keyRows();
    expect(rows.find((row) => row.kid === next.kid)).toMatchObject({ signFrom: after, revokedAt: null });
    expect(overlaps(rows)).toEqual([]);
  });

  it('revoking the current key never brings its retired predecessor back to signing', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    for (let day = 0; day <= 31; day++) await rotateSigningKeys(db, settings, T0 + day * DAY);
    const [old, current] = await keyRows();
    const now = T0 + 31 * DAY;
    expect((await currentSigningKey(db, settings, now)).kid).toBe(current!.kid);
    await revoke(current!.kid);
    const replacement = await currentSigningKey(db, settings, now + REFRESH_SECONDS);
    expect([old!.kid, current!.kid]).not.toContain(replacement.kid);
  });

  it('a revoked pending key is replaced by the next cron run, and the current key signs on until the new one is 48 h old', async () => {
    const db = isolate();
    const settings = await tokenSettings();
    await rotateSigningKeys(db, settings, T0);
    await rotateSigningKeys(db, settings, T0 + 27 * DAY);
    const [current, pending] = await keyRows();
    await revoke(pending!.kid);
    const cron = T0 + 29 * DAY;
    const result = await rotateSigningKeys(db, settings, cron);
    expect(result.publishedKid).not.toBeNull();
    const rows = (await keyRows()).filter((row) => row.revokedAt === null);
    expect(overlaps(rows)).toEqual([]);
    expect(rows.map((row) => row.kid)).toEqual([current!.kid, result.publishedKid]);
    expect(rows[0]!.signUntil).toBe(cron + 48 * HOUR);
    expect(rows[1]).toMatchObject({ publishAt: cron, signFrom: cron + 48 * HOUR });
  });
});

describe('keys from outside our table are never used', () => {
  it('an unknown kid is refused, and a flood of random kids reloads the table at most once per 10 s', async () => {
    const settings = await tokenSettings();
    const db = isolate();
    await currentSigningKey(db, settings, T0);
    const [first] = await keyRows();
    const genuine = await signAccessToken(db, settings, claims(T0), T0);
    const header = (kid: string) => btoa(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid })).replace(/=+$/, '');
    // A made-up kid: refused, and it spends this isolate's reload for the next 10 s.
    expect(await verifyAccessToken(db, settings, genuine.token.replace(/^[^.]+/, header('made-up')), T0 + 1)).toBeNull();
    // Meanwhile the key is revoked and another isolate makes the next one.
    await revoke(first!.kid);
    const fresh = await signAccessToken(isolate(), settings, claims(T0 + 2), T0 + 2);
    // More unknown kids within the 10 s read nothing from D1: even the genuine new kid is not found yet...
    for (let i = 0; i < 20; i++) {
      expect(await verifyAccessToken(db, settings, genuine.token.replace(/^[^.]+/, header(`random-${i}`)), T0 + 3)).toBeNull();
    }
    expect(await verifyAccessToken(db, settings, fresh.token, T0 + 3)).toBeNull();
    // ...and once the 10 s have passed, one reload finds it.
    expect(await verifyAccessToken(db, settings, fresh.token, T0 + 1 + UNKNOWN_KID_REFRESH_SECONDS)).not.toBeNull();
  });
});

describe('a sealed private key opens only in its own row, under its own secret', () => {
  it('sealed blobs swapped between two rows do not unseal, and signing fails loudly instead of signing with the wrong key', async () => {
    // Attack: someone with write access to D1 (not to the secret) swaps ciphertexts so one kid signs with another's key.
    const db = isolate();
    const settings = await tokenSettings();
    await rotateSigningKeys(db, settings, T0);
    await rotateSigningKeys(db, settings, T0 + 27 * DAY);
    const [a, b] = await keyRows();
    expect(await unsealPrivateKey(settings.signingKeyWrapKey, a!.kid, a!.alg, a!.sealedPrivateKey)).not.toBeNull();
    expect(await unsealPrivateKey(settings.signingKeyWrapKey, a!.kid, a!.alg, b!.sealedPrivateKey)).toBeNull();
    expect(await unsealPrivateKey(settings.signingKeyWrapKey, a!.kid, 'HS256', a!.sealedPrivateKey)).toBeNull();
    await env.DB.batch([
      env.DB.prepare('UPDATE signing_keys SET sealed_private_key = ? WHERE kid = ?').bind(b!.sealedPrivateKey, a!.kid),
      env.DB.prepare('UPDATE signing_keys SET sealed_private_key = ? WHERE kid = ?').bind(a!.sealedPrivateKey, b!.kid),
    ]);
    await expect(currentSigningKey(isolate(), settings, T0 + 27 * DAY)).rejects.toBeInstanceOf(SigningKeyUnavailableError);
  });

  it('a changed wrapping secret cannot open the stored keys', async () => {
    const settings = await tokenSettings();
    await currentSigningKey(isolate(), settings, T0);
    const [row] = await keyRows();
    const otherWrapKey = await deriveSigningKeyWrapKey('another-secret-0123456789abcdef0123456789abcdef');
    expect(await unsealPrivateKey(otherWrapKey, row!.kid, row!.alg, row!.sealedPrivateKey)).toBeNull();
    await expect(currentSigningKey(isolate(), { signingKeyWrapKey: otherWrapKey }, T0 + 1)).rejects.toBeInstanceOf(
      SigningKeyUnavailableError,
    );
  });

  it('the imported private key cannot be exported', async () => {
    const key = await currentSigningKey(isolate(), await tokenSettings(), T0);
    expect(key.key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', key.key)).rejects.toThrow();
  });
});
