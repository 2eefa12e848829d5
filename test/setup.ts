import { applyD1Migrations, env } from 'cloudflare:test';

// Setup files run before each test file; applying is idempotent. Every shard
// gets the same schema (vitest.config.ts binds DB_SHARD_1 to DB_SHARD_3).
await Promise.all([env.DB, env.DB_SHARD_1, env.DB_SHARD_2, env.DB_SHARD_3].map((db) => applyD1Migrations(db, env.TEST_MIGRATIONS)));
