import { defineConfig } from 'drizzle-kit';

// drizzle-kit only writes SQL here; wrangler applies it (locally, remotely and in tests).
export default defineConfig({
  dialect: 'sqlite',
  // db/ never imports a feature (scripts/check-layout.mjs): a feature's own
  // tables live in its folder, as src/features/<name>/tables.ts, found here.
  schema: ['./src/db/schema.ts', './src/features/*/tables.ts'],
  out: './migrations',
});
