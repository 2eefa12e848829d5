import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, registerUser, setNow, snapshot, totpAt, useRealTime } from '../../helpers';
import { expectLive, fullLogin, recoveryRows, T0, throttleRow, wrongCode, wrongRecoveryCode, type Verified } from './support';

afterEach(useRealTime);

const CODE_FORMAT = /^[A-Z2-7]{5}-[A-Z2-7]{5}$/;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** Every spelling of a code that the plaintext could be stored or logged as. */
function spellings(code: string): string[] {
  const bare = code.replace('-', '');
  return [code, bare, code.toLowerCase(), bare.toLowerCase()];
}

async function useRecoveryCode(token: string, recoveryCode: string) {
  return call<Verified>('/otp-verify', { token, json: { recoveryCode } });
}

async function remaining(token: string): Promise<number> {
  const me = await call<{ recoveryCodesRemaining: number }>('/me', { token });
  expect(me.status).toBe(200);
  return me.body.recoveryCodesRemaining;
}

describe('recovery codes: shape, storage, shown once', () => {
  it('enrollment returns ten distinct 50-bit codes, stored only as keyed hashes, never shown again', async () => {
    const user = await enrolledUser(T0 + 5);
    const codes = user.recoveryCodes;
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(CODE_FORMAT); // 10 base32 characters: 50 bits
    expect(new Set(codes).size).toBe(10);

    // Stored as ten unused rows whose hashes are neither the code nor an unkeyed digest of it.
    const rows = await recoveryRows(user.id);
    expect(rows).toHaveLength(10);
    expect(rows.every((row) => row.used_at === null)).toBe(true);
    expect(new Set(rows.map((row) => row.code_hash)).size).toBe(10);
    const everything = await snapshot();
    for (const code of codes) {
      for (const spelling of spellings(code)) expect(everything).not.toContain(spelling);
      const bare = code.replace('-', '');
      const unkeyed = [await sha256Base64(bare), await sha256Base64(code), await sha256Base64(`${user.id}:${bare}`)];
      for (const digest of unkeyed) expect(everything).not.toContain(digest);
    }

    // No later response carries them: not /me, not /qrcode, not a later code login, not a re-enrollment start.
    const later: string[] = [];
    later.push((await call('/me', { token: user.fullToken })).text);
    later.push((await call('/qrcode', { token: user.fullToken })).text);
    setNow(T0 + 35);
    const pwd = await loginUser(user.username);
    const next = await call<Verified>('/otp-verify', { token: pwd.token, json: { code: await totpAt(user.secret, T0 + 35) } });
    expect(next.status).toBe(200);
    expect(next.body.recoveryCodes).toBeUndefined();
    later.push(next.text);
    later.push((await call('/me', { token: next.body.token })).text);
    later.push((await call('/create-otp', { method: 'POST', token: next.body.token })).text);
    for (const text of later) for (const code of codes) for (const spelling of spellings(code)) expect(text).not.toContain(spelling);
  });
});

describe('recovery codes: use', () => {
  it('are accepted in any case, with or without the dash, each once, for a full token with amr [pwd, rec]', async () => {
    const user = await enrolledUser(T0 + 305);
    const [first, second, third] = user.recoveryCodes as [string, string, string];
    const forms = [first.toLowerCase(), second.replace('-', ''), ` ${third.toLowerCase().replace('-', ' ')} `];
    let expected = 10;
    expect(await remaining(user.fullToken)).toBe(expected);

    for (const form of forms) {
      const pwd = await loginUser(user.username);
      const used = await useRecoveryCode(pwd.token, form);
      expect(used.status, used.text).toBe(200);
      expect(used.body).toMatchObject({ authorized: true, expiresIn: 900 });
      expect(used.body.recoveryCodes).toBeUndefined();
      expect(decodeJwtPayload(used.body.token)).toMatchObject({ sub: user.id, authorized: true, amr: ['pwd', 'rec'] });
      expected -= 1;
      expect(await remaining(used.body.token)).toBe(expected);
    }
    expect((await recoveryRows(user.id)).filter((row) => row.used_at !== null)).toHaveLength(3);

    // Each is good once, in whatever spelling it comes back.
    const pwd = await loginUser(user.username);
    for (const again of [first, second.toLowerCase(), third.replace('-', '')]) {
      const before = await snapshot(undefined, true);
      const replay = await useRecoveryCode(pwd.token, again);
      expect(replay.status).toBe(401);
      expect(replay.body).toMatchObject({ error: 'invalid_code' });
      // Only the throttle counter moved (on the users row: left out of both snapshots).
      const after = JSON.parse(await snapshot(undefined, true)) as unknown[];
      expect(after.slice(0, 3)).toEqual((JSON.parse(before) as unknown[]).slice(0, 3));
    }
    expect(await throttleRow(`otp:${user.id}`)).toMatchObject({ failures: 3 });
    // The password-only token was not spent by the failures.
    const fourth = await useRecoveryCode(pwd.token, user.recoveryCodes[3]!);
    expect(fourth.status).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
    expect(await remaining(fourth.body.token)).toBe(6);
  });

  // Attack: two devices (or a replayed request) race one code; a check-then-write would let both in.
  it('two simultaneous uses of one code: exactly one 200', async () => {
    const user = await enrolledUser(T0 + 605);
    const [a, b] = [await loginUser(user.username), await loginUser(user.username)];
    const code = user.recoveryCodes[0]!;
    const results = await Promise.all([useRecoveryCode(a.token, code), useRecoveryCode(b.token, code.toLowerCase())]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(results.find((r) => r.status === 401)?.body).toMatchObject({ error: 'invalid_code' });
    const rows = await recoveryRows(user.id);
    expect(rows.filter((row) => row.used_at !== null)).toHaveLength(1);
    // One full session from enrollment, one from the winner: never two from one code.
    const { results: full } = await env.DB.prepare('SELECT id FROM sessions WHERE user_id = ? AND authorized = 1')
      .bind(user.id)
      .all();
    expect(full).toHaveLength(2);
    const winner = results.find((r) => r.status === 200)!;
    expect(await remaining(winner.body.token)).toBe(9);
  });

  it("another user's code is refused: the hashes are bound to the user", async () => {
    const alice = await enrolledUser(T0 + 755);
    const bob = await enrolledUser(T0 + 755);
    const pwd = await loginUser(alice.username);
    const r = await useRecoveryCode(pwd.token, bob.recoveryCodes[0]!);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'invalid_code' });
    expect((await recoveryRows(bob.id)).every((row) => row.used_at === null)).toBe(true);
  });

  it('a user without MFA has no recovery codes to use: 409 mfa_not_enrolled', async () => {
    setNow(T0 + 905);
    const user = await registerUser();
    const pwd = await loginUser(user.username);
    const before = await snapshot();
    const r = await useRecoveryCode(pwd.token, 'ABCDE-FGHIJ');
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: 'mfa_not_enrolled' });
    expect(await snapshot()).toBe(before);
  });

  it('malformed codes are 400 validation_failed and do not count as guesses', async () => {
    const user = await enrolledUser(T0 + 1205);
    const pwd = await loginUser(user.username);
    const before = await snapshot();
    // Non-ASCII letters that toUpperCase maps into the alphabet (dotless ı → I, long ſ → S,
    // the ligature ﬀ → FF) are not a code anyone was given: refused, like base32Decode does.
    const lookAlikes = ['\u0131BCDE-FGHIJ', '\u017fBCDE-FGHIJ', 'ABCDE-\ufb00GHI'];
    for (const bad of ['ABCDE-FGHI', 'ABCDE-FGHIJK', 'ABCDE-FGH9J', 'ABCDE_FGHIJ', 'ABCDE.FGHIJ', 12345, '', 'x'.repeat(100), ...lookAlikes]) {
      const r = await useRecoveryCode(pwd.token, bad as string);
      expect(r.status, String(bad)).toBe(400);
      expect(r.body).toMatchObject({ error: 'validation_failed' });
    }
    // Both a code and a recovery code at once is ambiguous: refused.
    const both = await call('/otp-verify', { token: pwd.token, json: { code: '123456', recoveryCode: user.recoveryCodes[0] } });
    expect(both.status).toBe(400);
    expect(await snapshot()).toBe(before);
  });
});

describe('recovery codes: one throttle budget with TOTP codes', () => {
  it('five wrong recovery codes lock TOTP codes too (429 with Retry-After), until the lock ends', async () => {
    const start = T0 + 1505;
    const user = await enrolledUser(start);
    const pwd = await loginUser(user.username);
    for (let i = 0; i < 5; i++) {
      const r = await useRecoveryCode(pwd.token, wrongRecoveryCode(user.recoveryCodes[i]!));
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_code' });
    }
    setNow(start + 10);
    const good = await totpAt(user.secret, start + 10);
    const locked = await call('/otp-verify', { token: pwd.token, json: { code: good } });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: 'too_many_requests' });
    expect(locked.headers.get('Retry-After')).toBe('20');
    // A correct recovery code is refused as well while locked, and is not consumed.
    const lockedRec = await useRecoveryCode(pwd.token, user.recoveryCodes[9]!);
    expect(lockedRec.status).toBe(429);
    expect((await recoveryRows(user.id)).every((row) => row.used_at === null)).toBe(true);

    // 30 s after the fifth failure the lock is over; a good code works and resets the count.
    setNow(start + 30);
    const ok = await call('/otp-verify', { token: pwd.token, json: { code: await totpAt(user.secret, start + 30) } });
    expect(ok.status, ok.text).toBe(200);
    expect(await throttleRow(`otp:${user.id}`)).toBeNull();
  });

  it('wrong TOTP codes and wrong recovery codes add up: 3 + 2 locks recovery codes', async () => {
    const start = T0 + 1805;
    const user = await enrolledUser(start);
    const pwd = await loginUser(user.username);
    const bad = wrongCode(await totpAt(user.secret, start));
    for (let i = 0; i < 3; i++) expect((await call('/otp-verify', { token: pwd.token, json: { code: bad } })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await useRecoveryCode(pwd.token, wrongRecoveryCode(user.recoveryCodes[i]!))).status).toBe(401);
    const locked = await useRecoveryCode(pwd.token, user.recoveryCodes[0]!);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('Retry-After')).toBe('30');
  });
});

describe('recovery codes: regeneration', () => {
  it('POST /recovery-codes replaces the whole set: 201 with ten new, the old ones stop working', async () => {
    const start = T0 + 2105;
    const user = await enrolledUser(start);
    // Spend one old code first: the new set is ten whole, not "the old unused ones".
    const pwd = await loginUser(user.username);
    const spent = await useRecoveryCode(pwd.token, user.recoveryCodes[0]!);
    expect(spent.status).toBe(200);
    const oldHashes = (await recoveryRows(user.id)).map((row) => row.code_hash);

    const regen = await call<{ recoveryCodes: string[] }>('/recovery-codes', { method: 'POST', token: spent.body.token });
    expect(regen.status).toBe(201);
    expect(Object.keys(regen.body)).toEqual(['recoveryCodes']);
    const fresh = regen.body.recoveryCodes;
    expect(fresh).toHaveLength(10);
    for (const code of fresh) expect(code).toMatch(CODE_FORMAT);
    expect(new Set(fresh).size).toBe(10);
    expect(fresh.filter((code) => user.recoveryCodes.includes(code))).toEqual([]);

    const rows = await recoveryRows(user.id);
    expect(rows).toHaveLength(10);
    expect(rows.every((row) => row.used_at === null)).toBe(true);
    expect(rows.filter((row) => oldHashes.includes(row.code_hash))).toEqual([]);
    const everything = await snapshot();
    for (const code of fresh) for (const spelling of spellings(code)) expect(everything).not.toContain(spelling);
    expect(await remaining(spent.body.token)).toBe(10);

    // An old, never-used code is now refused; a new one works.
    const pwd2 = await loginUser(user.username);
    const old = await useRecoveryCode(pwd2.token, user.recoveryCodes[5]!);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: 'invalid_code' });
    const ok = await useRecoveryCode(pwd2.token, fresh[0]!);
    expect(ok.status).toBe(200);
    expect(decodeJwtPayload(ok.body.token).amr).toEqual(['pwd', 'rec']);
    expect(await remaining(ok.body.token)).toBe(9);
    // Still a working full token after regenerating: regeneration does not end the session.
    await expectLive(spent.body.token);
  });

  it('a password-only token gets 403 mfa_required and nothing changes', async () => {
    const start = T0 + 2405;
    const user = await enrolledUser(start);
    const pwd = await loginUser(user.username);
    const before = await snapshot();
    const r = await call('/recovery-codes', { method: 'POST', token: pwd.token });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: 'mfa_required' });
    expect(await snapshot()).toBe(before);
    // The full token from a TOTP login may regenerate.
    const full = await fullLogin(user.username, user.secret, start + 30);
    expect((await call('/recovery-codes', { method: 'POST', token: full })).status).toBe(201);
  });
});
