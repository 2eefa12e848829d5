import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The pool's lowered password hash cost (vitest.config.ts, src/env-vars.ts); never in wrangler.toml. */
      TEST_ONLY_SCRYPT_PARAMS?: string;
      /** Extra shards of the test pool (vitest.config.ts); the app uses them only when SHARD_COUNT asks. */
      DB_SHARD_1: D1Database;
      DB_SHARD_2: D1Database;
      DB_SHARD_3: D1Database;
    }
  }
}
