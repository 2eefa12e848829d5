import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, registerUser, setNow, snapshot, totpAt, useRealTime } from '../../helpers';
import { expectLive, expectRevoked, fullLogin, recoveryRows, sessionRows, T0, userRow, type Verified } from './support';

afterEach(useRealTime);

interface Created {
  ok: boolean;
  secret: string;
  uri: string;
}

describe('re-enrollment with a full token', () => {
  it('keeps the old secret in force until the new one is confirmed, then swaps them, renews recovery codes and revokes other sessions', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    // A second device, logged in with a code from the next step.
    const other = await fullLogin(user.username, user.secret, start + 30);
    const before = await userRow(user.id);

    setNow(start + 40);
    const created = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(created.status).toBe(201);
    expect(created.body.ok).toBe(true);
    expect(created.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(created.body.secret).not.toBe(user.secret);
    const pending = await userRow(user.id);
    expect(pending.totp_secret).toBe(before.totp_secret);
    expect(pending.pending_secret).toMatch(/^v1\./);
    expect(pending.pending_expires_at).toBe(start + 40 + 600);
    expect(JSON.stringify(pending)).not.toContain(created.body.secret);
    const qr = await call<{ uri: string }>('/qrcode', { token: user.fullToken });
    expect(qr.status).toBe(200);
    expect(qr.body.uri).toBe(created.body.uri);

    // Before confirmation the old secret still logs in (and the new one does not).
    setNow(start + 60);
    const pwd = await loginUser(user.username);
    expect(pwd.mfa).toBe('verify');
    const withNew = await call('/otp-verify', { token: pwd.token, json: { code: await totpAt(created.body.secret, start + 60) } });
    expect(withNew.status).toBe(401);
    const withOld = await call<Verified>('/otp-verify', { token: pwd.token, json: { code: await totpAt(user.secret, start + 60) } });
    expect(withOld.status, withOld.text).toBe(200);
    const third = withOld.body.token;
    const oldHashes = (await recoveryRows(user.id)).map((row) => row.code_hash);

    // Confirm with a code from the new secret.
    setNow(start + 90);
    const confirmed = await call<Verified>('/otp-verify', {
      token: user.fullToken,
      json: { code: await totpAt(created.body.secret, start + 90) },
    });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body).toMatchObject({ authorized: true, expiresIn: 900 });
    expect(decodeJwtPayload(confirmed.body.token)).toMatchObject({ sub: user.id, authorized: true, amr: ['pwd', 'otp'] });
    const fresh = confirmed.body.recoveryCodes!;
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((code) => user.recoveryCodes.includes(code))).toEqual([]);

    const after = await userRow(user.id);
    expect(after.totp_secret).toBe(pending.pending_secret);
    expect(after.pending_secret).toBeNull();
    expect(after.pending_expires_at).toBeNull();
    const rows = await recoveryRows(user.id);
    expect(rows).toHaveLength(10);
    expect(rows.filter((row) => oldHashes.includes(row.code_hash))).toEqual([]);

    // Every other session is revoked: the second device, the third login, and the token that confirmed.
    await expectRevoked(other);
    await expectRevoked(third);
    await expectRevoked(user.fullToken);
    await expectLive(confirmed.body.token);
    const live = (await sessionRows(user.id)).filter((row) => row.revoked_at === null);
    expect(live).toHaveLength(1);
    // The active secret is not shown again.
    expect((await call('/qrcode', { token: confirmed.body.token })).status).toBe(404);

    // Now the old secret's codes are refused and the new one's accepted.
    setNow(start + 120);
    const pwd2 = await loginUser(user.username);
    const oldCode = await call('/otp-verify', { token: pwd2.token, json: { code: await totpAt(user.secret, start + 120) } });
    expect(oldCode.status).toBe(401);
    expect(oldCode.body).toMatchObject({ error: 'invalid_code' });
    const newCode = await call<Verified>('/otp-verify', {
      token: pwd2.token,
      json: { code: await totpAt(created.body.secret, start + 120) },
    });
    expect(newCode.status).toBe(200);

    // Old recovery codes stopped working; the new ones work.
    const pwd3 = await loginUser(user.username);
    const oldRec = await call('/otp-verify', { token: pwd3.token, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(oldRec.status).toBe(401);
    expect(oldRec.body).toMatchObject({ error: 'invalid_code' });
    const newRec = await call<Verified>('/otp-verify', { token: pwd3.token, json: { recoveryCode: fresh[0] } });
    expect(newRec.status).toBe(200);
  });

  it('a password alone can neither start, see nor confirm a re-enrollment', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const created = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(created.status).toBe(201);
    const pwd = await loginUser(user.username);
    const active = (await userRow(user.id)).totp_secret;
    const before = await snapshot();

    const start2 = await call('/create-otp', { method: 'POST', token: pwd.token });
    expect(start2.status).toBe(403);
    expect(start2.body).toMatchObject({ error: 'mfa_already_enabled' });
    const qr = await call('/qrcode', { token: pwd.token });
    expect(qr.status).toBe(403);
    expect(qr.body).toMatchObject({ error: 'mfa_already_enabled' });
    expect(qr.text).not.toContain(created.body.secret);
    expect(await snapshot()).toBe(before);

    // A code from the pending secret, with a password-only token, is checked against the active one.
    const sneaky = await call('/otp-verify', { token: pwd.token, json: { code: await totpAt(created.body.secret, start + 30) } });
    expect(sneaky.status).toBe(401);
    const row = await userRow(user.id);
    expect(row.pending_secret).not.toBeNull();
    expect(row.totp_secret).toBe(active);
  });

  // Attack: a confirmation sent twice at once must not swap twice or leave two sets of recovery codes.
  it('two simultaneous confirmations with one code: exactly one 200, one set of ten codes', async () => {
    const start = T0 + 905;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const created = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    const code = await totpAt(created.body.secret, start + 30);
    const results = await Promise.all([
      call<Verified>('/otp-verify', { token: user.fullToken, json: { code } }),
      call<Verified>('/otp-verify', { token: user.fullToken, json: { code } }),
    ]);
    // The loser is refused as a replay, or as unauthorized if the winner had already retired the token.
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.status === 200)!;
    expect(winner.body.recoveryCodes).toHaveLength(10);
    const rows = await recoveryRows(user.id);
    expect(rows).toHaveLength(10);
    const live = (await sessionRows(user.id)).filter((row) => row.revoked_at === null);
    expect(live).toHaveLength(1);
    expect((await userRow(user.id)).pending_secret).toBeNull();
    const pwd = await loginUser(user.username);
    expect((await call('/otp-verify', { token: pwd.token, json: { recoveryCode: winner.body.recoveryCodes![0] } })).status).toBe(200);
  });

  it('a second /create-otp replaces the pending secret: only the latest can be confirmed', async () => {
    const start = T0 + 1205;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const first = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    const second = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(second.status).toBe(201);
    expect(second.body.secret).not.toBe(first.body.secret);
    const stale = await call('/otp-verify', { token: user.fullToken, json: { code: await totpAt(first.body.secret, start + 30) } });
    expect(stale.status).toBe(401);
    const ok = await call('/otp-verify', { token: user.fullToken, json: { code: await totpAt(second.body.secret, start + 30) } });
    expect(ok.status).toBe(200);
  });
});

describe('a pending enrollment expires after 10 minutes', () => {
  it('re-enrollment: /qrcode and /otp-verify with the full token answer 404 no_pending_enrollment; the old secret stays', async () => {
    const start = T0 + 1805;
    const user = await enrolledUser(start);
    setNow(start + 30);
    const created = await call<Created>('/create-otp', { method: 'POST', token: user.fullToken });
    expect(created.status).toBe(201);

    setNow(start + 30 + 599);
    expect((await call('/qrcode', { token: user.fullToken })).status).toBe(200);

    setNow(start + 30 + 600);
    const before = await snapshot();
    const qr = await call('/qrcode', { token: user.fullToken });
    expect(qr.status).toBe(404);
    expect(qr.body).toMatchObject({ error: 'no_pending_enrollment' });
    const late = await call('/otp-verify', {
      token: user.fullToken,
      json: { code: await totpAt(created.body.secret, start + 30 + 600) },
    });
    expect(late.status).toBe(404);
    expect(late.body).toMatchObject({ error: 'no_pending_enrollment' });
    expect(await snapshot()).toBe(before);

    // The old secret is still the one in force.
    const again = await fullLogin(user.username, user.secret, start + 30 + 630);
    await expectLive(again);
    // And a new re-enrollment can be started.
    expect((await call('/create-otp', { method: 'POST', token: again })).status).toBe(201);
  });

  it('first enrollment: after expiry a new password-only token gets 404 from /qrcode and 409 mfa_not_enrolled from /otp-verify', async () => {
    const start = T0 + 2405;
    setNow(start);
    const user = await registerUser();
    const pwd = await loginUser(user.username);
    const created = await call<Created>('/create-otp', { method: 'POST', token: pwd.token });
    expect(created.status).toBe(201);

    setNow(start + 600);
    const fresh = await loginUser(user.username);
    expect(fresh.mfa).toBe('enroll');
    const before = await snapshot();
    const qr = await call('/qrcode', { token: fresh.token });
    expect(qr.status).toBe(404);
    expect(qr.body).toMatchObject({ error: 'no_pending_enrollment' });
    const late = await call('/otp-verify', { token: fresh.token, json: { code: await totpAt(created.body.secret, start + 600) } });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error: 'mfa_not_enrolled' });
    expect(await snapshot()).toBe(before);

    // Enrollment can start over.
    const again = await call<Created>('/create-otp', { method: 'POST', token: fresh.token });
    expect(again.status).toBe(201);
    const ok = await call<Verified>('/otp-verify', { token: fresh.token, json: { code: await totpAt(again.body.secret, start + 600) } });
    expect(ok.status).toBe(200);
    expect(ok.body.recoveryCodes).toHaveLength(10);
  });
});
