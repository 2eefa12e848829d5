import { applyD1Migrations, env } from 'cloudflare:test';

// Setup files run before each test file; applying is idempotent. Only DB here:
// the extra shards (vitest.config.ts binds DB_SHARD_1 to DB_SHARD_3) are
// migrated by test/shards/support.ts, the one module whose tests use them, so
// the other files do not pay for three more schemas.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
