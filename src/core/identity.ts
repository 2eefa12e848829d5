import { PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS } from '../settings/tunables';

/** Counts Unicode code points, not UTF-16 units: an emoji is one character. */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Characters that make two usernames look identical or break layouts
 * (RFC 8264 §9.13, UTS #39 §3.1, UAX #44 Default_Ignorable_Code_Point):
 * - control (Cc) and format (Cf) characters, line and paragraph separators;
 * - every default-ignorable code point, which renders as nothing: joiners,
 *   U+034F, variation selectors (U+FE00..FE0F, U+E0100..E01EF), the Hangul
 *   fillers U+115F, U+1160, U+3164, U+FFA0, soft hyphen, and the reserved
 *   ranges Unicode keeps default-ignorable for future such characters;
 * - bidi controls (UAX #9), which reorder what is shown;
 * - blanks that are none of the above but render as empty space: U+2800
 *   BRAILLE PATTERN BLANK, U+1D159 MUSICAL SYMBOL NULL NOTEHEAD, and every
 *   space separator other than U+0020 that NFKC leaves in place (U+1680);
 * - a colon, which would split the `Issuer:account` label of the otpauth URI.
 */
const INVISIBLE_OR_CONTROL =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\u2800\u{1D159}]|(?! )\p{Zs}/u;
const FORBIDDEN_IN_USERNAME = new RegExp(`${INVISIBLE_OR_CONTROL.source}|:`, 'u');

/** True if the text holds a character that is invisible, a control, or a lone surrogate. */
export function hasInvisibleOrControl(text: string): boolean {
  return !text.isWellFormed() || INVISIBLE_OR_CONTROL.test(text);
}

/** The username as stored and shown: trimmed and NFKC-normalized. */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').trim();
}

/** Why a normalized username is refused, or null if it is fine. */
export function usernameProblem(username: string): string | null {
  // A lone surrogate cannot be stored as UTF-8: D1 would keep U+FFFD, another name.
  if (!username.isWellFormed()) return 'must not contain a lone surrogate';
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

/** The weak_password messages (API.md: the message says which rule failed). */
export const PASSWORD_PROBLEMS = {
  length: `The password must be ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters, counted after NFKC normalization.`,
  surrogate: 'The password must not contain a lone surrogate (an unpaired UTF-16 code unit).',
  username: 'The password must differ from the username.',
  common: 'The password is a commonly used password; choose another one.',
} as const;

/**
 * The rules that need no storage (API.md, NIST SP 800-63B-4 §3.1.1.2): 8 to
 * 256 code points of the NFKC form (what is hashed), well-formed, not the
 * username. Returns the weak_password message, or null.
 */
export function passwordRuleProblem(password: string, username: string): string | null {
  // Distinct lone surrogates all encode to U+FFFD, so they would hash alike.
  if (!password.isWellFormed()) return PASSWORD_PROBLEMS.surrogate;
  const length = charCount(password.normalize('NFKC'));
  if (length < PASSWORD_MIN_CHARS || length > PASSWORD_MAX_CHARS) return PASSWORD_PROBLEMS.length;
  if (foldForComparison(password) === foldForComparison(username)) return PASSWORD_PROBLEMS.username;
  return null;
}

/** API.md: the storage-free rules hold (see `passwordRuleProblem`). */
export function isAcceptablePassword(password: string, username: string): boolean {
  return passwordRuleProblem(password, username) === null;
}
