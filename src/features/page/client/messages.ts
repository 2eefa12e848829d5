/** What a person should read for each error code of API.md. */
const MESSAGES = {
  invalid_credentials: 'Wrong username or password.',
  // The API's own message says which rule failed (api.ts prefers it); this is the fallback.
  weak_password: 'Choose a password of 8 to 256 characters that is not your username and not a commonly used password.',
  username_taken: 'That username is already taken. Pick another one, or log in.',
  invalid_code: 'That code is wrong or was already used. Wait for the next code in your app and try again.',
  passkey_refused: 'That passkey was not accepted for this account. Try again, or use another second factor.',
  passkey_cancelled: 'No passkey was used: the request was cancelled, timed out, or no passkey for this account is on this device.',
  unauthorized: 'Your sign-in has expired or was ended. Please log in again.',
  mfa_required: 'This needs the second step: enter a code from your app first.',
  mfa_already_enabled: 'Two-step sign-in is already on for this account: enter a code from your app.',
  no_pending_enrollment: 'The setup key has expired. Please log in again to get a new one.',
  mfa_not_enrolled: 'Two-step sign-in is not set up for this account. Please log in again to set it up.',
  invalid_json: 'The server could not read the request. Reload the page and try again.',
  unsupported_media_type: 'The server could not read the request. Reload the page and try again.',
  payload_too_large: 'What you typed is too long.',
  not_found: 'The server does not know this request. Reload the page and try again.',
  insufficient_user_authentication: 'For this, sign in again first: log out and log in with your second factor.',
  last_factor: 'This passkey is your only second factor. Add another one (an authenticator app or a passkey) before removing it.',
  internal: 'Something went wrong on our side. Please try again in a moment.',
} as const;

type KnownCode = keyof typeof MESSAGES;

function isKnown(code: string): code is KnownCode {
  return Object.prototype.hasOwnProperty.call(MESSAGES, code);
}

/** The page's own words for an error code, if it has any. */
export function messageFor(code: string): string | undefined {
  return isKnown(code) ? MESSAGES[code] : undefined;
}

export const INTERNAL_MESSAGE: string = MESSAGES.internal;

export const NETWORK_MESSAGE = 'The server could not be reached. Check your connection and try again.';

/** A wait in words: "1 second", "45 seconds", "about 3 minutes". */
export function seconds(n: number): string {
  if (n >= 120) return 'about ' + Math.ceil(n / 60) + ' minutes';
  return n === 1 ? '1 second' : n + ' seconds';
}
