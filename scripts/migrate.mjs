#!/usr/bin/env node
// `node scripts/migrate.mjs --local|--remote [--verbose] [wrangler flags]`:
// applies the migrations to every D1 binding of wrangler.toml's top-level
// [[d1_databases]] (DB, and DB_SHARD_1 ... when shards are configured;
// docs/scaling.md), one after the other, stopping at the first failure.
// One line per database ("migrations: DB: 11 applied"); wrangler's own tables
// (about 35 lines per database) only with --verbose or when it fails.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));
// Nothing may call out but what --remote asks for: no metrics.
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true' };

/** The `binding = "..."` of each top-level [[d1_databases]] table (comments ignored), in file order. */
function d1Bindings(toml) {
  const bindings = [];
  let inD1 = false;
  for (const raw of toml.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line.startsWith('[')) inD1 = line === '[[d1_databases]]';
    const match = inD1 && /^binding\s*=\s*"([A-Za-z0-9_]+)"$/.exec(line);
    if (match) bindings.push(match[1]);
  }
  return bindings;
}

const verbose = process.argv.includes('--verbose');
const args = process.argv.slice(2).filter((arg) => arg !== '--verbose');
if (!args.includes('--local') && !args.includes('--remote')) {
  console.error('usage: node scripts/migrate.mjs --local|--remote [wrangler flags]');
  process.exit(2);
}
const bindings = d1Bindings(readFileSync(`${root}wrangler.toml`, 'utf8'));
if (!bindings.includes('DB')) {
  console.error('wrangler.toml has no [[d1_databases]] binding "DB"');
  process.exit(1);
}
/** The migrations wrangler reports as applied: rows of its result table marked ✅ (redrawn as it goes, so each name once). */
function appliedNames(output) {
  return new Set([...output.matchAll(/│[ \t]*(\S+\.sql)[ \t]*│[ \t]*✅/g)].map((match) => match[1]));
}

for (const binding of bindings) {
  const command = [wrangler, 'd1', 'migrations', 'apply', binding, ...args];
  if (verbose) {
    console.log(`Applying migrations to ${binding}`);
    const result = spawnSync(process.execPath, command, { cwd: root, env, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
    continue;
  }
  const result = spawnSync(process.execPath, command, { cwd: root, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    // Never hide a failure: everything wrangler said, then where it stopped.
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    if (result.error) console.error(result.error.message);
    console.error(`migrations: ${binding}: failed (wrangler d1 migrations apply exited with ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  const applied = appliedNames(result.stdout + result.stderr).size;
  console.log(`migrations: ${binding}: ${applied === 0 ? 'up to date' : `${applied} applied`}`);
}
