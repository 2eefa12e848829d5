import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { EventMethod, SecurityEventType } from '../core/event-types';

/** Times are Unix seconds. */
export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /** As the user typed it, trimmed and NFKC-normalized. */
  username: text('username').notNull(),
  /** The case-folded form that makes `Alice` and `alice` one account. */
  usernameKey: text('username_key').notNull().unique(),
  /** `$scrypt$ln=..,r=..,p=..$salt$hash`: the parameters travel with the hash. */
  passwordHash: text('password_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  /** AES-GCM ciphertext of the confirmed TOTP key; null until MFA is enabled. */
  totpSecret: text('totp_secret'),
  /**
   * The highest time step ever accepted for the active secret. A code is taken
   * only by `UPDATE ... WHERE totp_last_step < ?`, so no code of that step or an
   * earlier one is ever accepted again (RFC 6238 §5.2).
   */
  totpLastStep: integer('totp_last_step').notNull().default(0),
  /** A secret shown by /create-otp and not yet confirmed by a code. */
  pendingSecret: text('pending_secret'),
  pendingExpiresAt: integer('pending_expires_at'),
  /** The session that made the pending secret: only it may read or confirm it (API.md, Enrollment). */
  pendingSessionId: text('pending_session_id'),
  /**
   * The code budget (TOTP and recovery codes share it), on the user's row so a
   * reservation is one UPDATE and the reset rides in the commit's UPDATE
   * (src/core/throttle/user-throttle.ts). Same schedule as a `throttles` row.
   */
  otpFailures: integer('otp_failures').notNull().default(0),
  otpLockedUntil: integer('otp_locked_until').notNull().default(0),
  otpUpdatedAt: integer('otp_updated_at').notNull().default(0),
  /** The password budget of an existing account (unknown usernames keep their `pwd:` throttle row). */
  pwdFailures: integer('pwd_failures').notNull().default(0),
  pwdLockedUntil: integer('pwd_locked_until').notNull().default(0),
  pwdUpdatedAt: integer('pwd_updated_at').notNull().default(0),
},
// Partial: only users with an enrollment in progress, so the cleanup finds the
// expired ones without scanning every user, and other writes pay nothing.
(t) => [index('users_pending_expires_idx').on(t.pendingExpiresAt).where(sql`${t.pendingExpiresAt} IS NOT NULL`)],
);

/** One row per issued token; verification checks the row is live, so revocation is immediate. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** 1 once a second factor was verified for this session. */
    authorized: integer('authorized', { mode: 'boolean' }).notNull(),
    createdAt: integer('created_at').notNull(),
    /** The absolute end: for a full session `auth_time + SESSION_MAX_SECONDS`. */
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    /** When a second factor was last proven in this session (the `auth_time` claim); null before. */
    authTime: integer('auth_time'),
    /** RFC 8176 methods of the last proof, space-separated (`pwd otp`). */
    amr: text('amr').notNull().default('pwd'),
    /**
     * The `acr` of the last proof when it is not `aal2`: `phrh` (a passkey with UV,
     * device-bound: BE = 0) or `phr` (BE = 1: synced or syncable) after a passwordless sign-in. Null:
     * `aal2` (a password and a second factor). Read by the access token and the
     * OpenID provider; a renewal (/reauthenticate) sets it back to what it proved.
     */
    acr: text('acr'),
    /**
     * The refresh token generation that is current. A refresh is one
     * compare-and-swap on it; the token itself is an HMAC over (id, generation)
     * under a server key, so nothing stored rebuilds it.
     */
    generation: integer('generation').notNull().default(0),
    /** When `generation` was issued: the 30 s grace of the previous one counts from here. */
    rotatedAt: integer('rotated_at'),
    /** The idle limit counts from here; written at most once a minute. */
    lastUsedAt: integer('last_used_at').notNull().default(0),
    /** Recorded when the session begins, for GET /sessions. */
    userAgent: text('user_agent'),
    /** The client IP truncated to /24 (IPv4) or /48 (IPv6). */
    ip: text('ip'),
    /**
     * The random id of the commit that last promoted (password-only to full) or
     * renewed (/reauthenticate) this session (src/core/second-factor/code.ts): the batch's
     * later statements, and a retried commit, test for it, so each knows whether
     * its own commit won.
     */
    commitId: text('commit_id'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** Recovery codes, stored only as HMAC-SHA-256 under a server key. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [index('recovery_codes_user_idx').on(t.userId, t.codeHash)],
);

/**
 * Consecutive-failure counters, one row per key: `pwd:<username key>` for
 * usernames that do not exist (an account's own budget is on its users row;
 * the same schedule, so a lock says nothing about whether an account exists),
 * `webauthn:<user id>` and `admin:<network>`. `otp:` rows and the `pwd:` rows of
 * existing accounts are from before migration 0009 and no longer read.
 */
export const throttles = sqliteTable('throttles', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  lockedUntil: integer('locked_until').notNull().default(0),
  updatedAt: integer('updated_at').notNull().default(sql`(unixepoch())`),
});

/**
 * Ed25519 keys that sign access tokens (src/tokens/signing-keys.ts). The private
 * key is AES-GCM sealed PKCS#8 with `kid` and `alg` as associated data, so a
 * sealed blob copied to another row does not open. Lifecycle, Unix seconds:
 * published from `publish_at` to `published_until`; signs in [sign_from,
 * sign_until). Any non-null `revoked_at` removes the key at once (next cache
 * refresh, at most 60 s): it neither signs nor verifies again.
 */
export const signingKeys = sqliteTable(
  'signing_keys',
  {
    /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    /** The public key, base64url (RFC 8037 §2 `x`). */
    publicX: text('public_x').notNull(),
    sealedPrivateKey: text('sealed_private_key').notNull(),
    createdAt: integer('created_at').notNull(),
    publishAt: integer('publish_at').notNull(),
    signFrom: integer('sign_from').notNull(),
    signUntil: integer('sign_until').notNull(),
    publishedUntil: integer('published_until').notNull(),
    revokedAt: integer('revoked_at'),
    /**
     * The RSA key (RS256, OIDC Core §15.1) that rotates with this Ed25519 key:
     * same window, made by a guarded UPDATE while `rsa_kid` is null, sealed
     * like the Ed25519 key (src/tokens/rsa-signing-keys.ts). Null while the
     * OpenID Provider is off.
     */
    rsaKid: text('rsa_kid'),
    /** The RSA modulus, base64url (RFC 7518 §6.3.1 `n`); `e` is always AQAB. */
    rsaN: text('rsa_n'),
    sealedRsaPrivateKey: text('sealed_rsa_private_key'),
  },
  (t) => [index('signing_keys_sign_from_idx').on(t.signFrom)],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;

/**
 * What happened to an account, as its owner sees it (GET /me/security-events).
 * Written in the same db.batch() as the change it records; kept 90 days.
 * `seq` is the rowid and orders the log: SQLite gives each insert a seq above
 * every row present, so paging is stable under inserts. `id` is the public,
 * random name of an event (122 random bits; nothing looks an event up by it).
 * No secret is ever stored here: `reason` is free text typed by support staff.
 *
 * Two rows written per event (D1 bills each index entry): the row and
 * `security_events_user_idx`. No AUTOINCREMENT (its sqlite_sequence update is
 * a third), no unique index on `id` (a fourth), and no index on `at` (a fifth):
 * the retention cleanup walks the oldest seqs instead (deleteExpiredEvents).
 */
export const securityEvents = sqliteTable(
  'security_events',
  {
    seq: integer('seq').primaryKey(),
    id: text('id').notNull(),
    userId: text('user_id').notNull(),
    type: text('type').$type<SecurityEventType>().notNull(),
    at: integer('at').notNull(),
    sessionId: text('session_id'),
    userAgent: text('user_agent'),
    /** Truncated to /24 (IPv4) or /48 (IPv6). */
    ip: text('ip'),
    reason: text('reason'),
    method: text('method').$type<EventMethod>(), // the factor it is about (an RFC 8176 amr value); null: none
  },
  (t) => [index('security_events_user_idx').on(t.userId, t.at, t.seq)],
);

/**
 * Password-reset tokens issued by support (POST /admin/users/{id}/password-reset).
 * Only the SHA-256 of the token is stored: the token carries 256 random bits,
 * so a plain hash cannot be inverted, and a stolen table resets nothing.
 */
export const passwordResets = sqliteTable(
  'password_resets',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [index('password_resets_user_idx').on(t.userId)],
);

export type SecurityEventRow = typeof securityEvents.$inferSelect;

/**
 * Passkeys (WebAuthn L3 §7.1 step 28): one row per registered credential. The id is
 * the credential id, base64url, and the primary key: unique per shard (§7.1 step 27),
 * so a credential is always looked up with its owner, never by its id alone.
 */
export const webauthnCredentials = sqliteTable(
  'webauthn_credentials',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** SubjectPublicKeyInfo, base64url, for importKey('spki') with `algorithm`. */
    publicKey: text('public_key').notNull(),
    /** COSE algorithm: -7 ES256, -8 EdDSA (Ed25519), -257 RS256. */
    algorithm: integer('algorithm').notNull(),
    /** Never lowered: updated by compare-and-swap on the old value (§7.2 step 24). */
    signCount: integer('sign_count').notNull().default(0),
    /** BE, fixed at creation (§6.1.3): an assertion with another value is refused. */
    backupEligible: integer('backup_eligible', { mode: 'boolean' }).notNull(),
    /** BS as last seen: shown as `backedUp`. */
    backupState: integer('backup_state', { mode: 'boolean' }).notNull(),
    /** UV as last seen (preferred, not required). */
    userVerified: integer('user_verified', { mode: 'boolean' }).notNull(),
    /**
     * UV was set when it was registered: the passkey may sign its user in alone
     * (POST /webauthn/signin/verify, which requires UV again each time). Rows
     * from before migration 0011 are 0: second factor only until re-registered.
     */
    passwordless: integer('passwordless', { mode: 'boolean' }).notNull().default(false),
    /** getTransports(), space-separated, handed back in allowCredentials. */
    transports: text('transports').notNull().default(''),
    name: text('name').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [index('webauthn_credentials_user_idx').on(t.userId)],
);

/**
 * Outstanding WebAuthn challenges: 32 random bytes, bound to the session that asked
 * and to one purpose, good for 5 minutes and once. The commit that uses one deletes
 * it in the same db.batch() whose guarded first statement required it.
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    id: text('id').primaryKey(),
    /** base64url of the 32 bytes sent in the options. */
    challenge: text('challenge').notNull(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** 'register' | 'login' | 'reauthenticate' */
    purpose: text('purpose').notNull(),
    /** The name asked for at register/options, if any. */
    name: text('name'),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('webauthn_challenges_session_idx').on(t.sessionId)],
);

export type WebAuthnCredentialRow = typeof webauthnCredentials.$inferSelect;
export type WebAuthnChallengeRow = typeof webauthnChallenges.$inferSelect;

/**
 * Passwordless sign-in challenges that were presented (POST /webauthn/signin/verify).
 * The challenge itself is stateless (an HMAC of its id, src/core/passwordless/challenge.ts),
 * so /webauthn/signin/options stores nothing; a challenge is good once because the first
 * verify inserts its id here (on the primary: the challenge names no user, so no shard)
 * and every later one finds it. Rows go when their challenge has expired (the cron).
 */
export const webauthnSigninSpent = sqliteTable(
  'webauthn_signin_spent',
  {
    challengeId: text('challenge_id').primaryKey(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('webauthn_signin_spent_expires_idx').on(t.expiresAt)],
);
