#!/usr/bin/env node
// `node scripts/migrate.mjs --local|--remote [wrangler flags]`: applies the
// migrations to every D1 binding of wrangler.toml's top-level [[d1_databases]]
// (DB, and DB_SHARD_1 ... when shards are configured; docs/scaling.md), one
// after the other, stopping at the first failure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));
// Nothing may call out but what --remote asks for: no metrics.
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

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

const args = process.argv.slice(2);
if (!args.includes('--local') && !args.includes('--remote')) {
  console.error('usage: node scripts/migrate.mjs --local|--remote [wrangler flags]');
  process.exit(2);
}
const bindings = d1Bindings(readFileSync(`${root}wrangler.toml`, 'utf8'));
if (!bindings.includes('DB')) {
  console.error('wrangler.toml has no [[d1_databases]] binding "DB"');
  process.exit(1);
}
for (const binding of bindings) {
  console.log(`Applying migrations to ${binding}`);
  const result = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', binding, ...args], { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
