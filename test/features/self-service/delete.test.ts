import { env } from 'cloudflare:test';
import { budgetRow } from '../../budget';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, PASSWORD, registerUser, setNow, useRealTime } from '../../helpers';
import { adminCall, countRows, fullLogin, injectFault, removeFault, storedEventTypes, T0 } from './support';

afterEach(async () => {
  useRealTime();
  await removeFault();
});

/** Every row stored for the user, table by table. */
async function rowsOf(user: { id: string; username: string }) {
  const key = user.username.toLowerCase();
  return {
    users: await countRows('users', 'id = ?', user.id),
    sessions: await countRows('sessions', 'user_id = ?', user.id),
    recovery_codes: await countRows('recovery_codes', 'user_id = ?', user.id),
    security_events: await countRows('security_events', 'user_id = ?', user.id),
    password_resets: await countRows('password_resets', 'user_id = ?', user.id),
    // Counted failures, wherever they are stored: throttle rows, and the users row's counters.
    throttles:
      (await countRows('throttles', 'key IN (?, ?, ?)', `otp:${user.id}`, `pwd:${key}`, `webauthn:${user.id}`)) +
      (await countRows('users', 'id = ? AND (otp_failures > 0 OR pwd_failures > 0)', user.id)),
    webauthn_credentials: await countRows('webauthn_credentials', 'user_id = ?', user.id),
    webauthn_challenges: await countRows('webauthn_challenges', 'user_id = ?', user.id),
  };
}

const NOTHING = { users: 0, sessions: 0, recovery_codes: 0, security_events: 0, password_resets: 0, throttles: 0, webauthn_credentials: 0, webauthn_challenges: 0 };

describe('DELETE /me', () => {
  it('deletes the user and everything stored for it; old tokens are 401 at once; the name is free again', async () => {
    const start = T0 + 5;
    const user = await enrolledUser(start);
    const other = await fullLogin(user.username, user.secret, start + 30);
    const pwdOnly = (await loginUser(user.username)).token;
    // Leave rows in every table: a failed code (throttle), a wrong password, a reset token.
    await call('/otp-verify', { token: pwdOnly, json: { code: '000000' } });
    await call('/login', { json: { username: user.username, password: 'wrong password' } });
    await adminCall(`/admin/users/${user.id}/password-reset`, { json: { reason: 'test' } });
    // A passkey and an outstanding passkey challenge, stored as the ceremonies would (test/features/passkeys covers those).
    const sid = String(decodeJwtPayload(user.fullToken).sid);
    await env.DB.prepare(
      "INSERT INTO webauthn_credentials (id, user_id, public_key, algorithm, sign_count, backup_eligible, backup_state, user_verified, transports, name, created_at) VALUES (?, ?, 'spki', -7, 0, 0, 0, 1, '', 'Passkey', ?)",
    )
      .bind(`cred-${user.id}`, user.id, start)
      .run();
    await env.DB.prepare("INSERT INTO webauthn_challenges (id, challenge, session_id, user_id, purpose, expires_at) VALUES (?, 'c', ?, ?, 'reauthenticate', ?)")
      .bind(`challenge-${user.id}`, sid, user.id, start + 300)
      .run();
    const before = await rowsOf(user);
    expect(Object.values(before).every((n) => n > 0), JSON.stringify(before)).toBe(true);

    const bystander = await registerUser();
    const r = await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } });
    expect(r.status, r.text).toBe(204);
    expect(r.text).toBe('');
    expect(await rowsOf(user)).toEqual(NOTHING);
    // Every table that stores rows of a user, not only those named above
    // (src/core/user-data.ts is the list); a table this user has no rows in is
    // checked from the schema by user-data-list.test.ts.
    // (D1 refuses pragma_table_info; the CREATE statements say the same.)
    const { results: tables } = await env.DB.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string; sql: string }>();
    const results = tables.filter((t) => /[`"]user_id[`"]/.test(t.sql));
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(['sessions', 'recovery_codes', 'security_events', 'password_resets', 'webauthn_credentials', 'webauthn_challenges']));
    for (const { name } of results) expect(await countRows(name, 'user_id = ?', user.id), name).toBe(0);
    expect(await countRows('users', 'id = ?', bystander.id)).toBe(1);

    for (const token of [user.fullToken, other]) expect((await call('/me', { token })).status).toBe(401);
    expect((await call('/create-otp', { method: 'POST', token: pwdOnly })).status).toBe(401);
    expect((await call('/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(401);

    const again = await call<{ id: string }>('/register', { json: { username: user.username.toUpperCase(), password: 'another passphrase' } });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(user.id);
    // The new account starts clean: no events or throttle counts inherited.
    expect(await storedEventTypes(again.body.id)).toEqual([]);
  });

  it('a wrong password is 401, counted, and deletes nothing', async () => {
    const start = T0 + 305;
    const user = await enrolledUser(start);
    const r = await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: 'not it at all' } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'invalid_credentials' });
    expect(await countRows('users', 'id = ?', user.id)).toBe(1);
    expect(await budgetRow(`pwd:${user.username.toLowerCase()}`)).toMatchObject({ failures: 1 });
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
  });

  it('needs a recent second factor (step-up)', async () => {
    const start = T0 + 605;
    const user = await enrolledUser(start);
    setNow(start + 301);
    const r = await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'insufficient_user_authentication' });
    expect(await countRows('users', 'id = ?', user.id)).toBe(1);
  });

  it('a session revoked before the batch runs cannot delete (the first statement is the guard)', async () => {
    // Attack: a stolen session, logged out by the owner, races its deletion request in.
    const start = T0 + 905;
    const user = await enrolledUser(start);
    const results = await Promise.all([
      call('/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } }),
      call('/logout', { method: 'POST', token: user.fullToken, json: { all: true } }),
    ]);
    const [deleted] = results;
    const rows = await rowsOf(user);
    if (deleted.status === 204) expect(rows).toEqual(NOTHING);
    else {
      expect(deleted.status).toBe(401);
      expect(rows.users).toBe(1);
    }
  });

  describe('a failure part-way through the batch leaves no half-deleted user', () => {
    for (const [name, when] of [
      ['the events delete', 'BEFORE DELETE ON security_events'],
      ['the session delete', 'BEFORE DELETE ON sessions'],
      ['the recovery-code delete', 'BEFORE DELETE ON recovery_codes'],
    ] as const) {
      it(`fault at ${name}: everything stays, and a concurrent login still works`, async () => {
        const start = T0 + 1205 + when.length * 300;
        const user = await enrolledUser(start);
        const before = await rowsOf(user);
        const snapshot = async () =>
          JSON.stringify(
            await Promise.all(
              ['users', 'recovery_codes'].map((t) => env.DB.prepare(`SELECT * FROM ${t} WHERE ${t === 'users' ? 'id' : 'user_id'} = ? ORDER BY 1`).bind(user.id).all()),
            ).then((parts) => parts.map((part) => part.results)),
          );
        const stored = await snapshot();
        await injectFault(when);
        // Attack/race: a login for the same account lands while the deletion fails part-way.
        const [deletion, login] = await Promise.all([
          call('/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } }),
          call('/login', { json: { username: user.username, password: PASSWORD } }),
        ]);
        expect(deletion.status).toBe(500);
        expect(deletion.body).toMatchObject({ error: 'internal' });
        expect(deletion.text).not.toMatch(/injected fault|trigger/i);
        expect(login.status).toBe(200);
        expect(await snapshot()).toBe(stored);
        const after = await rowsOf(user);
        expect(after.users).toBe(1);
        expect(after.recovery_codes).toBe(before.recovery_codes);
        expect(after.sessions).toBeGreaterThanOrEqual(before.sessions);
        await removeFault();
        // The same request succeeds once the fault is gone, and then nothing is left.
        expect((await call('/me', { token: user.fullToken })).status).toBe(200);
        const ok = await call('/me', { method: 'DELETE', token: user.fullToken, json: { password: PASSWORD } });
        expect(ok.status, ok.text).toBe(204);
        expect(await rowsOf(user)).toEqual(NOTHING);
      });
    }
  });
});
