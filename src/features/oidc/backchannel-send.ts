import { SignJWT } from 'jose';
import type { Db } from '../../db/client';
import { signingKeysDb } from '../../db/shards';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import { currentRsaSigningKey, RSA_ALG } from '../../tokens/rsa-signing-keys';
import { SIGNING_ALG } from '../../tokens/signing-key-crypto';
import { currentSigningKey } from '../../tokens/signing-keys';

/** One POST of Back-Channel Logout 1.0: the logout token, and its bounded attempts. */

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Delays before the second and third attempt of a round (a network blip, a client restarting). */
const RETRY_DELAYS_MS = [200, 1000];
const ATTEMPT_TIMEOUT_MS = 5000;

export async function logoutToken(db: Db, settings: Settings, client: { id: string; idTokenAlg: string }, userId: string, sid: string, now: number): Promise<string> {
  const keys = signingKeysDb(db);
  const ed = await currentSigningKey(keys, settings, now);
  const signer = client.idTokenAlg === 'EdDSA' ? { alg: SIGNING_ALG, kid: ed.kid, key: ed.key } : { alg: RSA_ALG, ...(await currentRsaSigningKey(keys, settings, now)) };
  return new SignJWT({ sid, events: { [BACKCHANNEL_EVENT]: {} } })
    .setProtectedHeader({ alg: signer.alg, typ: 'logout+jwt', kid: signer.kid })
    .setIssuer(settings.issuerUrl!)
    .setAudience(client.id)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
}

/**
 * One round: up to three POSTs. True when the client answered 2xx, or 400
 * (§2.8: the client refusing this token, which a retry will not change).
 * Each attempt is one log line with the client and the status, never the
 * token; `lastRound` words the final failure (given up, or left for the sweep).
 */
export async function postLogoutToken(uri: string, token: string, clientId: string, userId: string, lastRound: boolean): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    let outcome: string;
    try {
      const response = await fetch(uri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Cache-Control': 'no-store' },
        body: new URLSearchParams({ logout_token: token }),
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await response.body?.cancel();
      outcome = `status ${response.status}`;
      if (response.ok || response.status === 400) {
        logEvent('oidc_backchannel_logout', { userId, reason: `client ${clientId}: attempt ${attempt}, ${outcome}` });
        return true;
      }
    } catch (error) {
      outcome = error instanceof Error ? error.name : 'error';
    }
    const delay = RETRY_DELAYS_MS[attempt - 1];
    const then = delay !== undefined ? '' : lastRound ? ', given up' : ', left for the next sweep';
    logEvent('oidc_backchannel_logout', { userId, reason: `client ${clientId}: attempt ${attempt} failed, ${outcome}${then}` });
    if (delay === undefined) return false;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
