/**
 * The signed-in session's refresh token and the timer that renews the access
 * token before it expires (API.md v2 "Refresh"). Like the access token, the
 * refresh token lives in this module's memory only: never in any browser
 * storage, a cookie or the URL.
 */
import { api, Failure, hasToken, onTokenCleared, setToken } from './api';
import type { Refreshed } from './api-types';
import { signOut } from './view';

/** What `adopt` reads of an answer with tokens: /otp-verify, /refresh, /reauthenticate, or a first passkey enrollment (refresh token optional). */
export type Tokens = Pick<Refreshed, 'token'> & Partial<Pick<Refreshed, 'refreshToken' | 'expiresIn'>>;

/** Renew when 80% of the access token's life has passed, leaving a margin for a slow network. */
const REFRESH_AT_FRACTION = 0.8;
/** After a network failure or a 5xx/429 of /refresh, try again this much later. */
const RETRY_AFTER_TRANSIENT_FAILURE_MS = 10_000;
const MIN_DELAY_MS = 1_000;

export const SESSION_ENDED_MESSAGE = 'Your session has ended. Please log in again.';

/** The /refresh failures after which the session is gone, not just unreachable. */
const ENDED_CODES = new Set(['invalid_refresh_token', 'unauthorized', 'validation_failed']);

let refreshToken: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
/** One refresh at a time: the timer and a 401 retry share it, so a refresh token is never sent twice. */
let inFlight: Promise<void> | null = null;

function schedule(delayMs: number): void {
  clearTimeout(timer);
  timer = setTimeout(() => void refreshOnTimer(), Math.max(MIN_DELAY_MS, delayMs));
}

/** Holds a new pair: the access token for calls, the refresh token for the next renewal. */
export function adopt(tokens: Tokens): void {
  setToken(tokens.token);
  if (!tokens.refreshToken) return;
  refreshToken = tokens.refreshToken;
  if (tokens.expiresIn && tokens.expiresIn > 0) schedule(tokens.expiresIn * REFRESH_AT_FRACTION * 1000);
}

export function canRefresh(): boolean {
  return refreshToken !== null;
}

// A sign-out of any kind forgets the refresh token and stops the timer.
onTokenCleared(() => {
  refreshToken = null;
  clearTimeout(timer);
  timer = undefined;
  inFlight = null;
});

/**
 * Rotates the pair now (the old refresh token is spent). Rejects with
 * Failure('unauthorized', SESSION_ENDED_MESSAGE) when the session is gone, or
 * with the transient failure (network, 429, 5xx) otherwise.
 */
export function refreshNow(): Promise<void> {
  if (inFlight) return inFlight;
  const spent = refreshToken;
  const attempt = (async () => {
    if (!spent) throw new Failure('unauthorized', SESSION_ENDED_MESSAGE);
    let tokens: Tokens;
    try {
      tokens = await api<Tokens>('POST', '/refresh', { refreshToken: spent });
    } catch (caught) {
      if (caught instanceof Failure && !ENDED_CODES.has(caught.code)) throw caught;
      throw new Failure('unauthorized', SESSION_ENDED_MESSAGE);
    }
    // Signed out (or in again) while the request ran: this pair belongs to nobody now.
    if (refreshToken === spent) adopt(tokens);
  })();
  inFlight = attempt;
  const clear = (): void => {
    if (inFlight === attempt) inFlight = null;
  };
  attempt.then(clear, clear);
  return attempt;
}

async function refreshOnTimer(): Promise<void> {
  try {
    await refreshNow();
  } catch (caught) {
    if (!hasToken()) return;
    if (caught instanceof Failure && caught.code === 'unauthorized') {
      signOut(caught.message);
      return;
    }
    // Offline or briefly unavailable: the session may well be alive; try again soon.
    schedule(RETRY_AFTER_TRANSIENT_FAILURE_MS);
  }
}
