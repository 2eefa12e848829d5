import { PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS } from '../config';

/** Counts Unicode code points, not UTF-16 units: an emoji is one character. */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Control (Cc), format (Cf: zero-width joiners, bidi overrides) and line or
 * paragraph separators make usernames that look alike or break layouts. A
 * colon would split the `Issuer:account` label of the otpauth URI.
 */
const FORBIDDEN_IN_USERNAME = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}:]/u;

/** The username as stored and shown: trimmed and NFKC-normalized. */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').trim();
}

/** Why a normalized username is refused, or null if it is fine. */
export function usernameProblem(username: string): string | null {
  const length = charCount(username);
  if (length < USERNAME_MIN_CHARS || length > USERNAME_MAX_CHARS) {
    return `must be ${USERNAME_MIN_CHARS} to ${USERNAME_MAX_CHARS} characters`;
  }
  if (FORBIDDEN_IN_USERNAME.test(username)) return 'must not contain control or invisible characters or ":"';
  return null;
}

/**
 * NFKC with case folding approximated by upper- then lower-casing (so "ß",
 * "SS" and "ss" fold alike): the key that makes `Alice`, `ALICE` and
 * fullwidth `Ａｌｉｃｅ` one account.
 */
export function foldForComparison(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/** API.md: 8 to 256 code points and not the username itself. */
export function isAcceptablePassword(password: string, username: string): boolean {
  const length = charCount(password);
  if (length < PASSWORD_MIN_CHARS || length > PASSWORD_MAX_CHARS) return false;
  return foldForComparison(password) !== foldForComparison(username);
}
