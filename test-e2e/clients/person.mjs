// The person of test-e2e/clients.mjs: an account made through the JSON API
// (password + TOTP, and optionally a synced passkey from the repository's
// software authenticator, test/webauthn/authenticator.ts), and the hosted
// pages walked as a person walks them: password, then a code from the
// authenticator app or the passkey, then consent.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { formsOf, textOf } from './browser.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) over a base32 secret, as an authenticator app computes it. */
export function totp(secret, unixSeconds) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const key = [];
  for (const char of secret.replace(/=/g, '')) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      key.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

let authenticatorModule;
/** test/webauthn/authenticator.ts, bundled for Node once. */
async function softwareAuthenticator() {
  if (!authenticatorModule) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-mfa-authenticator-'));
    const out = await build({ entryPoints: [join(root, 'test/webauthn/authenticator.ts')], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
    writeFileSync(join(dir, 'authenticator.mjs'), out.outputFiles[0].text);
    authenticatorModule = await import(pathToFileURL(join(dir, 'authenticator.mjs')).href);
    rmSync(dir, { recursive: true, force: true });
  }
  return authenticatorModule;
}

const fromB64url = (text) => new Uint8Array(Buffer.from(text, 'base64url'));

/** A person with password + TOTP (and, with `passkey`, also a synced passkey: backup eligible, backed up). */
export async function makePerson(base, { passkey = false } = {}) {
  const api = async (path, { token, json, method } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: method ?? (json === undefined ? 'GET' : 'POST'),
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'Content-Type': 'application/json', Origin: base } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  const username = `rp_${randomBytes(5).toString('hex')}`;
  const password = 'correct horse battery staple';
  await api('/register', { json: { username, password } });
  const login = await api('/login', { json: { username, password } });
  const person = { base, username, password, authenticator: null, userHandle: null };
  let token = login.token;
  if (passkey) {
    const { SoftwareAuthenticator } = await softwareAuthenticator();
    person.authenticator = await SoftwareAuthenticator.create(-7, { backupEligible: true });
    const options = await api('/webauthn/register/options', { token, json: { name: 'Software passkey' } });
    const response = await person.authenticator.register(fromB64url(options.publicKey.challenge), { origin: base, rpId: 'localhost' });
    const added = await api('/webauthn/register/verify', { token, json: { challengeId: options.challengeId, response } });
    person.userHandle = fromB64url(options.publicKey.user.id);
    token = added.token;
  }
  const created = await api('/create-otp', { token, method: 'POST' }).catch((error) => (passkey ? null : Promise.reject(error)));
  if (created) {
    const verified = await api('/otp-verify', { token, json: { code: totp(created.secret, Date.now() / 1000) } });
    person.secret = created.secret;
    token = verified.token ?? token;
  }
  person.id = (await api('/me', { token })).id;
  // The enrollment spent this 30 s step's code; the sign-ins use the following steps'.
  person.codeStep = 1;
  return person;
}

/** Someone without an account yet: signInOnHostedPages signs them up and enrolls TOTP on the hosted pages. */
export function newcomer(base) {
  return { base, username: `rp_${randomBytes(5).toString('hex')}`, password: 'correct horse battery staple', signUp: true, authenticator: null, userHandle: null };
}

/**
 * Walks the hosted pages from `page` (the provider's first page) until the
 * browser leaves the provider: password, the second factor (`factor`: 'otp'
 * or 'passkey'), consent; for a newcomer, sign-up, enrollment and the recovery codes first. Returns the page the browser lands on.
 */
export async function signInOnHostedPages(browser, page, person, factor = 'otp') {
  const provider = new URL(person.base).origin;
  for (let steps = 0; new URL(page.url).origin === provider; steps += 1) {
    if (steps > 8) throw new Error(`the hosted pages went round: ${textOf(page.body).slice(0, 300)}`);
    const forms = formsOf(page.body);
    browser.offered.push(...forms.map((f) => f.action));
    const form = (action) => forms.find((f) => f.action === action);
    const post = (f, fields) => browser.navigate(new URL(f.action, page.url).href, { method: 'POST', form: { ...f.fields, ...fields } });
    const signUpLink = /href="(\/authorize\/signup\?ticket=[^"]+)"/.exec(page.body)?.[1];
    if (person.signUp && form('/authorize/password') && signUpLink) {
      page = await browser.navigate(new URL(signUpLink.replace(/&amp;/g, '&'), page.url).href, { site: 'same-origin' });
    } else if (person.signUp && form('/authorize/signup')) {
      person.signUp = false;
      page = await post(form('/authorize/signup'), { username: person.username, password: person.password });
    } else if (form('/authorize/enroll')) {
      // The key as text, as a person types it into an authenticator app.
      person.secret = /<code aria-labelledby="secret-label">([A-Z2-7=]+)<\/code>/.exec(page.body)?.[1];
      person.codeStep = 1;
      page = await post(form('/authorize/enroll'), { code: totp(person.secret, Date.now() / 1000) });
    } else if (form('/authorize/continue')) {
      person.recoveryCodesSeen = [...page.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].length;
      page = await post(form('/authorize/continue'), {});
    } else if (form('/authorize/password')) {
      page = await post(form('/authorize/password'), { username: person.username, password: person.password });
    } else if (factor === 'otp' && form('/authorize/otp')) {
      const code = totp(person.secret, Date.now() / 1000 + 30 * person.codeStep);
      person.codeStep += 1;
      page = await post(form('/authorize/otp'), { code });
    } else if (factor === 'passkey' && form('/authorize/passkey')) {
      const f = form('/authorize/passkey');
      const response = await person.authenticator.assert(fromB64url(f.passkeyOptions.challenge), { origin: provider, rpId: 'localhost', userHandle: person.userHandle });
      page = await post(f, { response: JSON.stringify(response) });
    } else if (form('/authorize/consent')) {
      page = await post(form('/authorize/consent'), { decision: 'allow' });
    } else {
      throw new Error(`no step to take (${factor}) at ${page.url} (${page.status}): ${textOf(page.body).slice(0, 400)}`);
    }
  }
  return page;
}
