import type { Db } from '../db/client';
import type { SigningKeyRow } from '../db/schema';
import { importPublicKey, unsealPrivateKey } from './signing-key-crypto';
import { immediateWindow, isPublishedAt, planSuccessor, PRUNE_AFTER_SECONDS, signerAt } from './signing-key-schedule';
import { insertImmediateKeyIf, insertSuccessorIf, loadSigningKeyRows, pruneSigningKeys } from './signing-key-store';

/**
 * Signing keys managed by the service (API.md "Signing keys (v2)").
 *
 * Each isolate caches the rows for REFRESH_SECONDS and the imported keys for
 * its life. The private key is imported non-extractable: once unsealed it
 * cannot be read back out of the isolate, only used to sign.
 *
 * Emergency revoke, one line:
 *   npx wrangler d1 execute DB --remote --command "UPDATE signing_keys SET revoked_at = unixepoch() WHERE kid = '<kid>'"
 * Any non-null revoked_at counts, whatever its value. Within REFRESH_SECONDS
 * every isolate drops the key from the JWKS and refuses its tokens; if it was
 * the signing key, the next signing call finds no signer and creates a new key
 * that signs at once (not pre-published: downstream caches learn it by
 * refetching on the unknown kid, as jose's createRemoteJWKSet does). Until
 * its refresh an isolate may still sign and accept with the revoked key.
 */

/** How stale an isolate's copy of the rows may be: the delay of a revoke or of another isolate's new key. */
export const REFRESH_SECONDS = 60;
/** An unknown kid forces a reload at most this often per isolate, so random kids cannot flood D1. */
export const UNKNOWN_KID_REFRESH_SECONDS = 10;

/** What these functions need from the settings: the key that seals private keys (HKDF of TOTP_ENCRYPTION_KEY). */
export interface SigningKeySettings {
  signingKeyWrapKey: CryptoKey;
}

export interface SigningKey {
  kid: string;
  alg: 'EdDSA';
  /** Non-extractable Ed25519 private key. */
  key: CryptoKey;
}

/** A stored key does not open under the current wrapping secret: an operator must act (see the rotation note). */
export class SigningKeyUnavailableError extends Error {
  override name = 'SigningKeyUnavailableError';
}

/**
 * Only settled values are shared between requests, never a promise: in
 * workerd a request that awaits I/O begun by another request hangs (and is
 * cancelled) when that request ends first, which an overloaded D1 queue made
 * happen (bench/shards). So concurrent cold requests each read and import for
 * themselves; the first to finish fills the cache.
 */
interface Keyring {
  rows: SigningKeyRow[] | null;
  loadedAtSeconds: number;
  forcedAtSeconds: number;
  privateKeys: Map<string, CryptoKey>;
  publicKeys: Map<string, CryptoKey>;
}

// One keyring per drizzle wrapper, which getDb() keeps per D1 binding for the isolate's life.
const keyrings = new WeakMap<Db, Keyring>();

function keyringOf(db: Db): Keyring {
  let keyring = keyrings.get(db);
  if (!keyring) {
    keyring = { rows: null, loadedAtSeconds: 0, forcedAtSeconds: -Infinity, privateKeys: new Map(), publicKeys: new Map() };
    keyrings.set(db, keyring);
  }
  return keyring;
}

/** The cached rows, reloaded when older than REFRESH_SECONDS (either way: injected clocks may step back) or when forced. */
async function rowsAt(db: Db, now: number, force = false): Promise<SigningKeyRow[]> {
  const keyring = keyringOf(db);
  if (!force && keyring.rows && Math.abs(now - keyring.loadedAtSeconds) < REFRESH_SECONDS) return keyring.rows;
  // A failed read throws here and caches nothing: the next call tries D1 again.
  const rows = await loadSigningKeyRows(db);
  keyring.rows = rows;
  keyring.loadedAtSeconds = now;
  return rows;
}

async function privateKeyOf(db: Db, settings: SigningKeySettings, row: SigningKeyRow): Promise<CryptoKey> {
  const keyring = keyringOf(db);
  const cached = keyring.privateKeys.get(row.kid);
  if (cached) return cached;
  const opened = await unsealPrivateKey(settings.signingKeyWrapKey, row.kid, row.alg, row.sealedPrivateKey);
  // Deliberately not auto-revoked: an instance deployed with the wrong secret must not destroy everyone's keys.
  if (!opened) throw new SigningKeyUnavailableError(`signing key ${row.kid} does not unseal: was TOTP_ENCRYPTION_KEY changed?`);
  keyring.privateKeys.set(row.kid, opened);
  return opened;
}

/**
 * The row that signs at `now`. On a new deployment (or once the signing key
 * was revoked, or ended with no successor because neither the cron nor a
 * signing call ran in its last 72 h) it creates a key that signs at once; of
 * concurrent callers one writes it and the others re-read and use that one.
 */
async function signerRowAt(db: Db, settings: SigningKeySettings, now: number): Promise<SigningKeyRow> {
  let signer = signerAt(await rowsAt(db, now), now);
  // Our copy may be stale: another isolate may have made the key already.
  if (!signer) signer = signerAt(await rowsAt(db, now, true), now);
  if (!signer) {
    await insertImmediateKeyIf(db, settings.signingKeyWrapKey, now, immediateWindow(await rowsAt(db, now), now));
    signer = signerAt(await rowsAt(db, now, true), now);
  }
  if (!signer) throw new Error('no signing key after creating one');
  return signer;
}

/** Publishes the successor if one is due (guarded); returns its kid if this call wrote it. */
async function publishDueSuccessor(db: Db, settings: SigningKeySettings, now: number, force: boolean): Promise<string | null> {
  const plan = planSuccessor(await rowsAt(db, now, force), now);
  const kid = plan ? await insertSuccessorIf(db, settings.signingKeyWrapKey, now, plan) : null;
  if (kid) await rowsAt(db, now, true);
  return kid;
}

/**
 * The key to sign with at `now` (see signerRowAt). Also self-healing when the
 * cron is missing or late: a due successor is published from here too (a
 * pure check on the cached rows; a guarded write at most once per refresh).
 */
export async function currentSigningKey(db: Db, settings: SigningKeySettings, now: number): Promise<SigningKey> {
  const signer = await signerRowAt(db, settings, now);
  await publishDueSuccessor(db, settings, now, false);
  return { kid: signer.kid, alg: 'EdDSA', key: await privateKeyOf(db, settings, signer) };
}

/**
 * The public key for `kid` if it is one of ours, published and not revoked at
 * `now`; else null. An unknown kid reloads the rows at most every
 * UNKNOWN_KID_REFRESH_SECONDS (another isolate may just have made a key).
 */
export async function verificationKey(db: Db, kid: string, now: number): Promise<CryptoKey | null> {
  let row = (await rowsAt(db, now)).find((r) => r.kid === kid);
  const keyring = keyringOf(db);
  if (!row && Math.abs(now - keyring.forcedAtSeconds) >= UNKNOWN_KID_REFRESH_SECONDS) {
    keyring.forcedAtSeconds = now;
    row = (await rowsAt(db, now, true)).find((r) => r.kid === kid);
  }
  if (!row || !isPublishedAt(row, now)) return null;
  const cached = keyring.publicKeys.get(kid);
  if (cached) return cached;
  const key = await importPublicKey(row.publicX);
  keyring.publicKeys.set(kid, key);
  return key;
}

/**
 * The published row `match` picks (by its Ed25519 or its RSA kid), from the
 * isolate's cache: a kid nobody published costs no D1 read beyond the one
 * refresh per UNKNOWN_KID_REFRESH_SECONDS that verificationKey also allows.
 * For public endpoints that verify tokens sent by anyone (an ID token hint).
 */
export async function publishedRowMatching(db: Db, now: number, match: (row: SigningKeyRow) => boolean): Promise<SigningKeyRow | null> {
  let row = (await rowsAt(db, now)).find(match);
  const keyring = keyringOf(db);
  if (!row && Math.abs(now - keyring.forcedAtSeconds) >= UNKNOWN_KID_REFRESH_SECONDS) {
    keyring.forcedAtSeconds = now;
    row = (await rowsAt(db, now, true)).find(match);
  }
  return row && isPublishedAt(row, now) ? row : null;
}

/**
 * The published keys at `now`, oldest first (a stable order, so the JWKS and
 * its ETag are stable). Read from D1 each time (and the cache refreshed with
 * it): an emergency revoke leaves the JWKS at once (API.md), and consumers
 * cache the document, so this is one small read per consumer per 5 minutes.
 */
export async function publishedKeys(db: Db, now: number): Promise<SigningKeyRow[]> {
  const rows = (await rowsAt(db, now, true)).filter((row) => isPublishedAt(row, now));
  return rows.sort((a, b) => a.publishAt - b.publishAt || a.signFrom - b.signFrom || (a.kid < b.kid ? -1 : 1));
}

export interface RotationResult {
  /** The key signing at `now` after the run. */
  signingKid: string;
  /** The successor this run published, or null (not due, or another run won). */
  publishedKid: string | null;
  prunedCount: number;
}

/**
 * The daily cron. Idempotent and safe to run concurrently: makes sure a key
 * signs now, publishes the successor once it is due (at least 48 h before it
 * signs), and deletes rows whose publication ended long ago.
 */
export async function rotateSigningKeys(db: Db, settings: SigningKeySettings, now: number): Promise<RotationResult> {
  // Unsealing here makes a changed wrapping secret fail the cron run, loudly, before any request does.
  await privateKeyOf(db, settings, await signerRowAt(db, settings, now));
  const publishedKid = await publishDueSuccessor(db, settings, now, true);
  const prunedCount = await pruneSigningKeys(db, now - PRUNE_AFTER_SECONDS);
  const signer = signerAt(await rowsAt(db, now, true), now);
  if (!signer) throw new Error('no signing key after rotation');
  return { signingKid: signer.kid, publishedKid, prunedCount };
}
