/** Tunables. Each says why it has its value. */

/** API.md: larger bodies get 413 before any parsing. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** API.md: usernames are 3 to 64 characters after trimming and NFKC. */
export const USERNAME_MIN_CHARS = 3;
export const USERNAME_MAX_CHARS = 64;

/** NIST SP 800-63B §5.1.1.2: at least 8; allow long passphrases, never truncate. */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 256;

/**
 * scrypt cost: N = 2^14, r = 8, p = 5 is OWASP's listed equivalent of its
 * N = 2^17 minimum at a fraction of the memory. Memory is 128 * r * (N + p + 1)
 * bytes = 16 MiB per hash, so the 128 MB isolate (shared by concurrent requests)
 * fits several logins at once; CPU is about 190 ms, which needs the Paid plan.
 */
export const SCRYPT_LOG_N = 14;
export const SCRYPT_R = 8;
export const SCRYPT_P = 5;
export const SCRYPT_KEY_BYTES = 32;
export const SCRYPT_SALT_BYTES = 16;

/** RFC 6238 defaults that every authenticator app supports. */
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** RFC 6238 §5.2: one step either side covers clock drift and typing time. */
export const TOTP_WINDOW_STEPS = 1;
/** RFC 4226 §4 R6 recommends 160-bit shared secrets. */
export const TOTP_SECRET_BYTES = 20;
/** An unconfirmed secret is forgotten after this long. */
export const PENDING_ENROLLMENT_TTL_SECONDS = 10 * 60;

/** API.md: a password-only token lives at most 5 minutes. */
export const MFA_TOKEN_MAX_TTL_SECONDS = 5 * 60;

/** Consecutive failures that lock /otp-verify (codes and recovery codes share it). */
export const OTP_FAILURES_PER_LOCK = 5;
/** Passwords are typed more often and mistyped more often: a higher threshold. */
export const PASSWORD_FAILURES_PER_LOCK = 10;
/** The first lock; each further full round of failures doubles it. */
export const LOCK_BASE_SECONDS = 30;
export const LOCK_MAX_SECONDS = 60 * 60;

/** Ten codes of 10 base32 characters: 50 bits each (API.md asks for at least 50). */
export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_CHARS = 10;

/** Secrets shorter than this are refused at start-up: 32 characters of hex carry 128 bits. */
export const SECRET_MIN_CHARS = 32;

/** API.md step-up: sensitive operations need a second factor proven this recently (RFC 9470 max_age). */
export const STEP_UP_MAX_AGE_SECONDS = 300;

/** API.md (v2): a full token lives ACCESS_TOKEN_TTL_SECONDS, default 300, 60 to 3600. */
export const ACCESS_TOKEN_TTL_SECONDS_BOUNDS = { min: 60, max: 60 * 60, default: 5 * 60 };
/**
 * API.md: a password-only token lives at most 5 minutes; under 30 s (one TOTP
 * step) leaves no time to open the app and type a code.
 */
export const MFA_TOKEN_TTL_SECONDS_BOUNDS = { min: TOTP_PERIOD_SECONDS, max: MFA_TOKEN_MAX_TTL_SECONDS, default: MFA_TOKEN_MAX_TTL_SECONDS };
/** The issuer is shown in authenticator apps next to the account name: keep it short. */
export const ISSUER_MAX_CHARS = 64;

/** API.md sessions: the absolute end after `auth_time`; NIST SP 800-63B-4 §2.2.3 (AAL2) allows 24 hours. */
export const SESSION_MAX_SECONDS_BOUNDS = { min: 5 * 60, max: 24 * 60 * 60, default: 24 * 60 * 60 };
/** API.md sessions: the idle end; NIST SP 800-63B-4 §2.2.3 (AAL2) allows one hour of inactivity. */
export const SESSION_IDLE_SECONDS_BOUNDS = { min: 60, max: 60 * 60, default: 60 * 60 };
/** `last_used_at` is written at most this often per session: the idle limit needs no write per request. */
export const SESSION_TOUCH_INTERVAL_SECONDS = 60;
/** API.md refresh: the previous refresh token, presented this soon after its rotation, gets the same new pair. */
export const REFRESH_GRACE_SECONDS = 30;

/** Issue 12: a support-issued password-reset token is good once, for one hour. */
export const PASSWORD_RESET_TTL_SECONDS = 60 * 60;

/**
 * Wrong admin tokens, counted per client network (/24 or /48): the token has at
 * least 32 characters, so this only slows a scan down and makes it loud.
 */
export const ADMIN_FAILURES_PER_LOCK = 5;

/**
 * Passwordless sign-in (POST /webauthn/signin/verify) failures: per credential id
 * (5, the passkey step's count) and per client network (/24 or /48). The network's
 * is larger: one office or carrier NAT holds many people, and a success gives its
 * attempt back. Same doubling lock schedule as every budget (30 s up to 1 hour).
 */
export const SIGNIN_CREDENTIAL_FAILURES_PER_LOCK = 5;
export const SIGNIN_NETWORK_FAILURES_PER_LOCK = 20;

/** Security events per scheduled run: bounded work, the next run takes the rest. */
export const EVENT_CLEANUP_BATCH = 1000;

/**
 * NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failed guesses of a TOTP
 * code; then the factor is locked (403 factor_locked) until a recovery code
 * succeeds or an admin unlocks the account.
 */
export const OTP_FACTOR_LOCK_FAILURES = 100;

/** WebAuthn challenges: 32 random bytes (L3 §13.4.3: at least 16), good for 5 minutes (API.md). */
export const WEBAUTHN_CHALLENGE_BYTES = 32;
export const WEBAUTHN_CHALLENGE_TTL_SECONDS = 5 * 60;
/** A passkey's label, as the user typed it (or "Passkey"). */
export const PASSKEY_NAME_MAX_CHARS = 64;
/** Passkeys per account: bounds allowCredentials, excludeCredentials and the list. */
export const PASSKEYS_PER_USER_MAX = 20;

/**
 * Issue 13, shards: SHARD_COUNT D1 databases (DB, then DB_SHARD_1 ...). The
 * shard is the top four bits of an id's first byte (its first hex digit), so
 * 16 is the most one id can name.
 */
export const SHARD_COUNT_MAX = 16;
