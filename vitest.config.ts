import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// The Worker serves the page's script and stylesheet and /openapi.json's document
// from its static assets (wrangler.toml [assets]), built by scripts/build-page.mjs
// from the sources; it rebuilds only what changed, so no run sees stale ones.
execFileSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'scripts/build-page.mjs')], { stdio: 'inherit' });

// Nothing may call out: no wrangler metrics, no fetch of Request.cf data.
process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          // The same migration files wrangler applies locally and remotely;
          // test/setup.ts applies them to each test file's isolated D1.
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
          JWT_SECRET: 'test-jwt-secret-0123456789abcdef0123456789abcdef',
          TOTP_ENCRYPTION_KEY: 'test-totp-key-0123456789abcdef0123456789abcdef',
          // The suite's timelines were written for 15-minute full tokens; the
          // default of 300 (wrangler.toml, API.md) is tested in test/settings/config.test.ts.
          ACCESS_TOKEN_TTL_SECONDS: '900',
          // The support desk's secret (issue 12); its absence is tested with a copy of env without it.
          ADMIN_TOKEN: 'test-admin-token-0123456789abcdef0123456789abcdef',
          // The suite's BASE is https://mfa.test: passkeys for that site.
          WEBAUTHN_RP_ID: 'mfa.test',
          WEBAUTHN_ORIGINS: 'https://mfa.test',
          // Test pool only (src/settings/env-vars.ts, scryptParamsVar): every hash at
          // N = 16, r = 1, p = 1, microseconds instead of ~350 ms here, with no
          // floor. The password tests, the enumeration tests and one journey
          // run with a copy of env without it (productionCostEnv in
          // test/helpers.ts), at wrangler.toml's SCRYPT_PARAMS.
          TEST_ONLY_SCRYPT_PARAMS: 'ln=4,r=1,p=1',
        },
        // Shards 1 to 3 (issue 13): the suite runs with SHARD_COUNT unset (one
        // shard, DB); test/shards/ runs the app with a copy of env asking for 2 or 4.
        d1Databases: { DB_SHARD_1: 'edge-mfa-shard-1', DB_SHARD_2: 'edge-mfa-shard-2', DB_SHARD_3: 'edge-mfa-shard-3' },
        // Tests only: the real flood filter (wrangler.toml, 60 per minute per
        // path and IP) is shared by every test file, all from one "IP", and the
        // suite logs in far more often than that. Its wiring is tested with a
        // fake binding in test/security/rate-limit.test.ts.
        ratelimits: { AUTH_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 1_000_000, period: 60 } } },
      },
    })),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    // The Worker logs one JSON line per security event (src/log.ts), about 3 000
    // in a run, which buried the summary. A passing test's console output is
    // dropped; a failing test's is printed with its failure, where it helps.
    // Tests that assert on logs spy on console and are unaffected.
    silent: 'passed-only',
    // The pool hashes passwords at a test-only cost (TEST_ONLY_SCRYPT_PARAMS
    // above); the files at production cost spend ~0.4 s per hash here, several
    // seconds on a loaded machine, and one file fuzzes for tens of seconds.
    testTimeout: 30_000,
    // Vitest's default in a run is cores - 1: one file at a time on 2 cores.
    // A file's worker mostly waits on workerd (D1, the isolate's RPC), so one
    // file per core finished a 16-file sample in ~50-60 s instead of ~90-110 s
    // on a 2-core machine (4 were no faster). Each file keeps its own isolate and storage.
    maxWorkers: '100%',
    // Pre-bundle noble's scrypt: Vite's module transform turns its imported
    // helpers (rotl) into property reads inside the hot loop, which made one
    // hash take ~4.5 s in the pool instead of ~0.35 s.
    deps: { optimizer: { ssr: { enabled: true, include: ['@noble/hashes/scrypt.js'] } } },
  },
});
