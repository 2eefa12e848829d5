import { defineConfig } from 'drizzle-kit';

// drizzle-kit only writes SQL here; wrangler applies it (locally, remotely and in tests).
export default defineConfig({
  dialect: 'sqlite',
  // db/ never imports a feature (scripts/check-layout.mjs), so a feature's own
  // tables are listed here beside the shared schema.
  schema: ['./src/db/schema.ts', './src/features/oidc/tables.ts'],
  out: './migrations',
});
