import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { sessions, users } from '../../db/schema';

/**
 * The OpenID Provider's tables (docs/openid-provider.md, "Storage"). Times are
 * Unix seconds. The client registry is deployment-wide and lives on the
 * primary with the signing keys; codes, consents and grants belong to a
 * person and live on that person's shard, found from the value itself (a
 * code's first character, a session id's first digit: src/db/shard-ids.ts).
 */

/** Relying parties, managed by the support API (`/admin/clients`). */
export const oidcClients = sqliteTable('oidc_clients', {
  /** Public, random: `c_` + 22 base64url characters. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** 'confidential' | 'public'. */
  type: text('type').notNull(),
  firstParty: integer('first_party', { mode: 'boolean' }).notNull(),
  /** JSON array of absolute URIs, compared exactly. */
  redirectUris: text('redirect_uris').notNull(),
  postLogoutRedirectUris: text('post_logout_redirect_uris').notNull().default('[]'),
  /** 'RS256' | 'EdDSA'. */
  idTokenAlg: text('id_token_alg').notNull(),
  backchannelLogoutUri: text('backchannel_logout_uri'),
  /** SHA-256 (base64url) of a 256-bit secret: a plain hash cannot be inverted. Null for a public client. */
  secretHash: text('secret_hash'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Authorization codes: only their SHA-256 is stored. Single use by one
 * compare-and-swap on `used_at`; `session_id` names the client session the
 * exchange opened, so a second exchange can revoke it (RFC 6749 §4.1.2).
 */
export const oidcCodes = sqliteTable(
  'oidc_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The browser's provider session the code was issued from. */
    providerSessionId: text('provider_session_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    codeChallenge: text('code_challenge').notNull(),
    nonce: text('nonce'),
    /** Granted scopes, space-separated, in a fixed order. */
    scope: text('scope').notNull(),
    /** Whether the exchange issues a refresh token (first party, or offline_access granted). */
    offline: integer('offline', { mode: 'boolean' }).notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    sessionId: text('session_id'),
    /** The `acr` the code's tokens carry: the first `acr_values` entry the sign-in satisfied (null: what it proved). */
    acr: text('acr'),
  },
  (t) => [index('oidc_codes_user_idx').on(t.userId), index('oidc_codes_expires_idx').on(t.expiresAt)],
);

/** A person's answer on the consent screen, per client and scope set; kept until revoked. */
export const oidcConsents = sqliteTable(
  'oidc_consents',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    /** The scope set, space-separated in a fixed order. */
    scope: text('scope').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.clientId, t.scope] })],
);

/**
 * A client session: the `sessions` row a code exchange opened for one client,
 * hanging off the browser's provider session. It is live only while its
 * provider session is not revoked, so every way that ends the provider
 * session ends the client's tokens too. `acr` records what the provider
 * session proved when the code was issued (refresh never raises it).
 */
export const oidcGrants = sqliteTable(
  'oidc_grants',
  {
    sessionId: text('session_id')
      .primaryKey()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    providerSessionId: text('provider_session_id').notNull(),
    clientId: text('client_id').notNull(),
    userId: text('user_id').notNull(),
    scope: text('scope').notNull(),
    acr: text('acr').notNull(),
    offline: integer('offline', { mode: 'boolean' }).notNull(),
    createdAt: integer('created_at').notNull(),
    /**
     * Back-channel logout for this client session once it ended (src/features/oidc/backchannel.ts):
     * set when the client confirmed it (or has no back-channel URI): never sent again.
     */
    logoutSentAt: integer('logout_sent_at'),
    /** When a delivery claimed it: a lease; a claim older than the lease (an evicted isolate) may be claimed again. Null: unclaimed. */
    logoutClaimedAt: integer('logout_claimed_at'),
    /** Delivery rounds started (claims); none after the last one failed. */
    logoutAttempts: integer('logout_attempts').notNull().default(0),
  },
  (t) => [index('oidc_grants_provider_idx').on(t.providerSessionId), index('oidc_grants_client_idx').on(t.clientId), index('oidc_grants_user_idx').on(t.userId)],
);

export type OidcClientRow = typeof oidcClients.$inferSelect;
export type OidcCodeRow = typeof oidcCodes.$inferSelect;
export type OidcGrantRow = typeof oidcGrants.$inferSelect;
