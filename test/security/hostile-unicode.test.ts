import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { blocklistKey, isCommonPassword, passwordProblem } from '../../src/core/passwords/common-passwords';
import { normalizeUsername, PASSWORD_PROBLEMS, usernameProblem } from '../../src/core/identity';
import { getDb } from '../../src/db/client';
import { call, PASSWORD, snapshot, uniqueName } from '../helpers';

function hex(text: string): string {
  return [...text].map((ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

/**
 * Impersonation by invisible characters (UTS #39 §3.1, RFC 8264 §9.13): a name
 * with a character that renders as nothing looks exactly like another user's
 * name. Every default-ignorable code point is refused, not a hand-picked few,
 * and so are blank look-alikes that are not default-ignorable.
 */
describe('usernames with invisible characters are refused (400 validation_failed), nothing stored', () => {
  const invisible = [
    '\u034F', // COMBINING GRAPHEME JOINER (DI, Mn: not Cf)
    '\u115F', // HANGUL CHOSEONG FILLER (DI, Lo)
    '\u1160', // HANGUL JUNGSEONG FILLER (DI, Lo)
    '\u3164', // HANGUL FILLER (DI; NFKC makes it U+1160)
    '\uFFA0', // HALFWIDTH HANGUL FILLER (DI; NFKC makes it U+1160)
    '\u2800', // BRAILLE PATTERN BLANK (not DI, So, renders blank)
    '\u{1D159}', // MUSICAL SYMBOL NULL NOTEHEAD (not DI, renders blank)
    '\uFE0F', // VARIATION SELECTOR-16 (DI, Mn)
    '\u{E0100}', // VARIATION SELECTOR-17 (DI, Mn, astral)
    '\u{E0041}', // TAG LATIN CAPITAL LETTER A (DI, Cf)
    '\u200B', // ZERO WIDTH SPACE
    '\u2060', // WORD JOINER
    '\u00AD', // SOFT HYPHEN
    '\u17B4', // KHMER VOWEL INHERENT AQ (DI, Mn)
    '\u180E', // MONGOLIAN VOWEL SEPARATOR
    '\u1680', // OGHAM SPACE MARK (the one Zs besides U+0020 that NFKC keeps)
    '\u061C', // ARABIC LETTER MARK (bidi control)
    '\u202E', // RIGHT-TO-LEFT OVERRIDE (bidi control)
    '\u2066', // LEFT-TO-RIGHT ISOLATE (bidi control)
  ];

  it('the rule itself, inside and at either end of a name', () => {
    for (const ch of invisible) {
      expect([hex(ch), usernameProblem(normalizeUsername(`ev${ch}il_twin`))]).toEqual([hex(ch), expect.any(String)]);
      // At either end it is refused, or trimmed away (U+1680 is white space): never kept.
      for (const raw of [`${ch}eviltwin`, `eviltwin${ch}`]) {
        const username = normalizeUsername(raw);
        expect([hex(ch), username === 'eviltwin' || usernameProblem(username) !== null]).toEqual([hex(ch), true]);
      }
    }
    // The control: ordinary letters, digits, marks and inner spaces are fine.
    for (const fine of ['eviltwin', 'José Ñandú', 'ユーザー', 'user 42', 'Ωmega']) expect(usernameProblem(normalizeUsername(fine))).toBeNull();
  });

  it('through /register: each is 400 validation_failed and nothing is stored', async () => {
    const before = await snapshot();
    for (const ch of invisible) {
      const r = await call('/register', { json: { username: `twin${ch}${uniqueName('').slice(0, 8)}`, password: PASSWORD } });
      expect([hex(ch), r.status, r.body.error]).toEqual([hex(ch), 400, 'validation_failed']);
    }
    expect(await snapshot()).toBe(before);
  });
});

/**
 * Lone surrogates: JSON can carry "\ud800", which D1 stores as U+FFFD, so the
 * name reported back differs from the one sent; in a password, distinct lone
 * surrogates all encode to U+FFFD and so hash alike.
 */
describe('lone surrogates', () => {
  // Well-formed JSON.stringify (ES2019) sends a lone surrogate as its \\uXXXX escape.
  const body = (username: string, password: string) => JSON.stringify({ username, password });
  const json = { 'Content-Type': 'application/json' };

  it('a username with one is 400 validation_failed at /register and /login; nothing stored', async () => {
    const before = await snapshot();
    for (const username of ['lone_\ud800_high', '\ud800front', 'lone\udc00low']) {
      for (const path of ['/register', '/login']) {
        const r = await call(path, { body: body(username, PASSWORD), headers: json });
        // Labelled by the escaped form: a raw lone surrogate cannot cross the test pool's socket.
        expect([JSON.stringify(username), path, r.status, r.body.error]).toEqual([JSON.stringify(username), path, 400, 'validation_failed']);
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('a password with one is 400 weak_password at /register, with a message saying why; nothing stored', async () => {
    const before = await snapshot();
    for (const password of ['a long passphrase\ud800', '\ud800 a long passphrase', 'a long \udfff passphrase']) {
      const r = await call('/register', { body: body(uniqueName('surr'), password), headers: json });
      const label = JSON.stringify(password);
      expect([label, r.status, r.body]).toEqual([label, 400, { error: 'weak_password', message: PASSWORD_PROBLEMS.surrogate }]);
    }
    expect(await snapshot()).toBe(before);
  });

  it('at /login such a password can never be right: 400 validation_failed before any scrypt or throttle', async () => {
    const username = uniqueName('surr');
    expect((await call('/register', { json: { username, password: PASSWORD } })).status).toBe(201);
    const before = await snapshot();
    const r = await call('/login', { body: body(username, `${PASSWORD}\ud800`), headers: json });
    expect([r.status, r.body.error]).toEqual([400, 'validation_failed']);
    expect(await snapshot()).toBe(before);
  });
});

/**
 * The length rule counts what is hashed, the NFKC form (API.md, NIST SP
 * 800-63B-4 §3.1.1.2): seven typed characters that NFKC expands are still
 * fine, and eight that it folds into fewer are too short.
 */
describe('password length counts code points after NFKC', () => {
  it('"ﬃ" (U+FB03) is three characters after NFKC: three of them pass, 86 of them are over 256', async () => {
    const ok = await call('/register', { json: { username: uniqueName('nfkc'), password: '\uFB03\uFB03\uFB03' } });
    expect([ok.status, ok.text]).toEqual([201, expect.any(String)]);
    const long = await call('/register', { json: { username: uniqueName('nfkc'), password: '\uFB03'.repeat(86) } });
    expect([long.status, long.body]).toEqual([400, { error: 'weak_password', message: PASSWORD_PROBLEMS.length }]);
  });

  it('eight code points that NFKC composes into seven (e + U+0301 to é) are too short', async () => {
    const password = 'cafe\u0301_12'; // 8 code points typed, 7 after NFKC: "café_12"
    expect([...password]).toHaveLength(8);
    expect([...password.normalize('NFKC')]).toHaveLength(7);
    const r = await call('/register', { json: { username: uniqueName('nfkc'), password } });
    expect([r.status, r.body]).toEqual([400, { error: 'weak_password', message: PASSWORD_PROBLEMS.length }]);
  });
});

/**
 * Guessing with a dictionary: NIST SP 800-63B-4 §3.1.1.2 makes refusing
 * commonly used passwords a SHALL. The 10,000 most common ones are refused
 * in any case or width, with a message that says so.
 */
describe('commonly used passwords are refused (400 weak_password)', () => {
  it('"password", "12345678", "iloveyou", "trustno1" and other spellings of them; nothing stored', async () => {
    const before = await snapshot();
    for (const password of ['password', '12345678', 'PASSWORD', 'PassWord', 'ｐａｓｓｗｏｒｄ', 'iloveyou', 'trustno1', 'Qwertyuiop', 'baseball']) {
      const r = await call('/register', { json: { username: uniqueName('common'), password } });
      expect([password, r.status, r.body]).toEqual([password, 400, { error: 'weak_password', message: PASSWORD_PROBLEMS.common }]);
      expect(r.body.message).toMatch(/commonly used password/);
    }
    expect(await snapshot()).toBe(before);
  });

  it('the table holds the list as migrated: lower-cased NFKC keys, a few thousand rows', async () => {
    const row = await env.DB.prepare('SELECT count(*) AS n, max(length(password)) AS longest FROM common_passwords').first<{ n: number; longest: number }>();
    expect(row!.n).toBeGreaterThan(3000);
    const upper = await env.DB.prepare('SELECT count(*) AS n FROM common_passwords WHERE password <> lower(password)').first<{ n: number }>();
    expect(upper!.n).toBe(0);
    expect(blocklistKey('ＰａｓｓＷＯＲＤ')).toBe('password');
  });

  it('isCommonPassword and passwordProblem: the one check for registration, change and reset', async () => {
    const db = getDb(env.DB);
    expect(await isCommonPassword(db, 'Password1')).toBe(true);
    expect(await isCommonPassword(db, PASSWORD)).toBe(false);
    expect(await passwordProblem(db, 'someone', 'superman')).toBe(PASSWORD_PROBLEMS.common);
    expect(await passwordProblem(db, 'someone', 'short')).toBe(PASSWORD_PROBLEMS.length);
    expect(await passwordProblem(db, 'someone_long', 'SOMEONE_LONG')).toBe(PASSWORD_PROBLEMS.username);
    expect(await passwordProblem(db, 'someone', PASSWORD)).toBeNull();
  });

  it('the control: an uncommon passphrase is accepted', async () => {
    expect((await call('/register', { json: { username: uniqueName('rare'), password: 'zebra quartz lantern 97' } })).status).toBe(201);
  });
});
