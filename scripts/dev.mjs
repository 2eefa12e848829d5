#!/usr/bin/env node
// `npm run dev [-- wrangler dev flags]`: makes .dev.vars with fresh random
// secrets when there is none, applies the local D1 migrations (to every
// shard), then serves
// with `wrangler dev` (http://localhost:8787 unless flags say otherwise).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Nothing may call out: no metrics, no fetch of Request.cf data from Cloudflare, and
// no banner (its update check asks the npm registry for wrangler's latest version).
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };
const wrangler = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

const devVars = `${root}.dev.vars`;
if (!existsSync(devVars)) {
  const secret = () => randomBytes(32).toString('hex');
  writeFileSync(
    devVars,
    // ADMIN_TOKEN turns on the support desk's /admin routes locally (docs/support.md).
    `# Made by npm run dev for local use only; never deploy these.\nJWT_SECRET=${secret()}\nTOTP_ENCRYPTION_KEY=${secret()}\nADMIN_TOKEN=${secret()}\n`,
    { mode: 0o600 },
  );
  console.log('Created .dev.vars with fresh random JWT_SECRET, TOTP_ENCRYPTION_KEY and ADMIN_TOKEN.');
}

// Every D1 binding of wrangler.toml: DB, and each shard when shards are configured.
const migrate = spawnSync(process.execPath, [fileURLToPath(new URL('./migrate.mjs', import.meta.url)), '--local'], {
  cwd: root,
  env: { ...env, CI: 'true' },
  stdio: 'inherit',
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Passkeys: the browser's origin is http://localhost:<port> (WebAuthn refuses IP
// addresses, so open localhost, not 127.0.0.1); follow whatever --port says.
const args = process.argv.slice(2);
const portAt = args.findIndex((arg) => arg === '--port' || arg.startsWith('--port='));
const port = portAt < 0 ? '8787' : args[portAt].includes('=') ? args[portAt].split('=')[1] : args[portAt + 1];
// ENVIRONMENT=development marks this run as local, which a localhost RP ID needs
// (src/settings/webauthn.ts: a deployed Worker with localhost settings fails loudly).
const webauthnVars = ['--var', 'ENVIRONMENT:development', '--var', 'WEBAUTHN_RP_ID:localhost', '--var', `WEBAUTHN_ORIGINS:http://localhost:${port}`];
// The OpenID Provider's issuer (docs/openid-provider.md) is this server, unless set in .dev.vars' place.
if (!args.some((arg) => arg.startsWith('ISSUER_URL:'))) webauthnVars.push('--var', `ISSUER_URL:http://localhost:${port}`);

const dev = spawn(process.execPath, [wrangler, 'dev', ...webauthnVars, ...args], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
