/**
 * D1 errors that say "the database was briefly unavailable", not "the query
 * is wrong". Cloudflare documents these as retryable (D1 docs, "Error list"
 * and "Retry queries"); a client gets 503 with Retry-After, never 500.
 * Matched as substrings, case-insensitively: D1 prefixes them (`D1_ERROR:`),
 * and drizzle wraps them (DrizzleQueryError, the D1 error as `.cause`).
 */
export const TRANSIENT_D1_MESSAGES = {
  overloaded: 'D1 DB is overloaded',
  network: 'Network connection lost',
  unresolved: 'Cannot resolve D1 DB due to transient issue',
  reset: 'Internal error in D1 DB storage caused object to be reset',
  timeout: 'storage operation exceeded timeout',
  redeployed: 'reset because its code was updated',
} as const;

export type TransientKind = keyof typeof TRANSIENT_D1_MESSAGES;

/** How deep a cause chain is walked: bounded, so a cyclic chain cannot loop. */
const MAX_CAUSE_DEPTH = 8;

/** Which transient D1 failure `error` (or any error in its `.cause` chain) is, or null. */
export function transientD1Kind(error: unknown): TransientKind | null {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    const message = current.message.toLowerCase();
    for (const [kind, text] of Object.entries(TRANSIENT_D1_MESSAGES)) {
      if (message.includes(text.toLowerCase())) return kind as TransientKind;
    }
    current = current.cause;
  }
  return null;
}

export function isTransientD1Error(error: unknown): boolean {
  return transientD1Kind(error) !== null;
}

/**
 * Seconds a client is told to wait. Overload and resets clear in well under a
 * second on D1's side; 2 s spreads the retries of many clients a little
 * without making a person wait noticeably.
 */
export const STORAGE_RETRY_AFTER_SECONDS = 2;
