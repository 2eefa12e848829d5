import { describe, expect, it } from 'vitest';
import { snapshot, uniqueName } from '../../helpers';
import { api, expectError, signUp, storedUser, userCount } from './support';

describe('POST /register', () => {
  it('201 with { id, username }; the username is stored trimmed and NFKC-normalized, the password only as scrypt', async () => {
    const r = await api<{ id: string; username: string }>('/register', {
      json: { username: '  Ｒｅｇ_ｕｓｅｒ  ', password: 'a long enough passphrase', role: 'admin', mfaEnabled: true },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.any(String), username: 'Reg_user' });
    const row = await storedUser(r.body.id);
    expect(row).toMatchObject({ username: 'Reg_user', username_key: 'reg_user', totp_secret: null, pending_secret: null });
    expect(JSON.stringify(row)).not.toContain('a long enough passphrase');
    expect((row as unknown as { password_hash: string }).password_hash).toMatch(/^\$scrypt\$/);
  });

  it('400 validation_failed with issues [{ path, message }] for a missing, short, long or non-string username or password; nothing stored', async () => {
    const before = await snapshot();
    const bodies: [unknown, string][] = [
      [{ password: 'password123' }, 'username'],
      [{ username: 'ab', password: 'password123' }, 'username'],
      [{ username: '   ab   ', password: 'password123' }, 'username'],
      [{ username: 'x'.repeat(65), password: 'password123' }, 'username'],
      [{ username: 12345, password: 'password123' }, 'username'],
      [{ username: 'valid_name' }, 'password'],
      [{ username: 'valid_name', password: 12345678 }, 'password'],
      [['valid_name', 'password123'], ''],
    ];
    for (const [json, path] of bodies) {
      const r = await api<{ issues: { path: string; message: string }[] }>('/register', { json });
      expectError(r, 400, 'validation_failed');
      expect(r.body.issues.length).toBeGreaterThan(0);
      for (const issue of r.body.issues) expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });
      expect(r.body.issues.map((issue) => issue.path)).toContain(path);
    }
    expect(await snapshot()).toBe(before);
  });

  it('400 weak_password for 7 or 257 code points, and for the username itself in any case or width; nothing stored', async () => {
    const before = await snapshot();
    const cases = [
      { username: 'weakling', password: 'seven77' },
      { username: 'weakling', password: 'x'.repeat(257) },
      // Still a string password, however long: weak_password, not validation_failed.
      { username: 'weakling', password: 'x'.repeat(5000) },
      // Code points, not UTF-16 units: seven emoji are 14 units but 7 characters.
      { username: 'weakling', password: '🔑'.repeat(7) },
      { username: 'Password_Owner', password: 'password_owner' },
      { username: 'password_owner', password: 'PASSWORD_OWNER' },
      { username: 'fullwidth_pw', password: 'ＦＵＬＬＷＩＤＴＨ＿ＰＷ' },
    ];
    for (const json of cases) expectError(await api('/register', { json }), 400, 'weak_password');
    expect(await snapshot()).toBe(before);
  });

  it('accepts exactly 8 and exactly 256 code points', async () => {
    expect((await api('/register', { json: { username: uniqueName(), password: '🔑'.repeat(8) } })).status).toBe(201);
    expect((await api('/register', { json: { username: uniqueName(), password: 'y'.repeat(256) } })).status).toBe(201);
  });

  it('409 username_taken for the same name in another case, with blanks around it, or in fullwidth; nothing stored', async () => {
    await signUp('Alice');
    const before = await snapshot();
    const count = await userCount();
    for (const username of ['alice', 'ALICE', '  Alice ', 'Ａｌｉｃｅ', 'ａｌｉｃｅ']) {
      expectError(await api('/register', { json: { username, password: 'another password' } }), 409, 'username_taken');
    }
    expect(await userCount()).toBe(count);
    expect(await snapshot()).toBe(before);
  });
});

describe('request bodies on /register (checked before any route logic)', () => {
  it('413 payload_too_large over 16 KiB, 415 for another content type or none, 400 invalid_json; nothing stored', async () => {
    const before = await snapshot();
    const big = JSON.stringify({ username: uniqueName(), password: 'p'.repeat(17 * 1024) });
    expectError(await api('/register', { body: big, headers: { 'Content-Type': 'application/json' } }), 413, 'payload_too_large');
    const valid = JSON.stringify({ username: uniqueName(), password: 'a fine password' });
    expectError(await api('/register', { body: valid, headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(
      await api('/register', { body: `username=${uniqueName()}&password=x`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
      415,
      'unsupported_media_type',
    );
    expectError(await api('/register', { method: 'POST' }), 415, 'unsupported_media_type');
    expectError(await api('/register', { method: 'POST', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_json');
    for (const body of ['{"username": "abc", "password": ', '{bad json}', "{'username':'abc'}", 'undefined']) {
      expectError(await api('/register', { body, headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_json');
    }
    expect(await snapshot()).toBe(before);
  });

  it('a JSON content type with a charset parameter is accepted', async () => {
    const r = await api('/register', {
      body: JSON.stringify({ username: uniqueName(), password: 'a fine password' }),
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(r.status).toBe(201);
  });
});
