import { messageFor, NETWORK_MESSAGE, seconds } from './messages';

/**
 * The token of this sign-in, held in this module's memory only: it is never
 * written to any browser storage, a cookie or the URL, so a reload signs the
 * person out.
 */
let token: string | null = null;

/** Called whenever the token is dropped (sign-out of any kind), so other modules forget what belongs to it. */
const clearedListeners: Array<() => void> = [];

export function onTokenCleared(listener: () => void): void {
  clearedListeners.push(listener);
}

export function setToken(value: string | null): void {
  token = value;
  if (value === null) for (const listener of clearedListeners) listener();
}

export function hasToken(): boolean {
  return Boolean(token);
}

/** An expected failure a person should read: an API error code, a network failure or a format check. */
export class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (from Retry-After), 0 when there is no lock. */
    readonly waitSeconds = 0,
    /** The API's own `message`, when it gave one (e.g. which password rule failed). */
    readonly serverMessage = '',
  ) {
    super(message);
  }
}

export type { LoggedIn, Me, OtpCreated, PasskeyList, PasskeyOptions, PasskeyRegistered, QrCode, Registered, Verified } from './api-types';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A readable message for a failed response, after API.md's error shape. */
function failureOf(response: Response, data: Record<string, unknown> | null): Failure {
  const code = (data && typeof data.error === 'string' && data.error) || (response.status >= 500 ? 'internal' : 'unknown');
  let message = messageFor(code) || (data && typeof data.message === 'string' && data.message) || 'The request failed (' + response.status + ').';
  if (code === 'too_many_requests') {
    const wait = Math.max(1, parseInt(response.headers.get('Retry-After') || '30', 10) || 30);
    message = 'Too many attempts. Please wait ' + seconds(wait) + ' before trying again.';
    return new Failure(code, message, wait);
  }
  const serverMessage = (data && typeof data.message === 'string' && data.message) || '';
  // Which password rule failed (too short, the username, a commonly used password): only the API knows.
  if (code === 'weak_password' && serverMessage) message = serverMessage;
  if (code === 'validation_failed' && data && Array.isArray(data.issues)) {
    const issues: unknown[] = data.issues;
    const described = issues.map((issue) => {
      const fields: Record<string, unknown> = isObject(issue) ? issue : {};
      return (fields.path ? String(fields.path) + ' ' : '') + String(fields.message);
    });
    message = 'Please check what you typed: ' + described.join('; ') + '.';
  }
  return new Failure(code, message, 0, serverMessage);
}

/**
 * One request to this origin, with the token when there is one. Resolves to
 * the parsed body (null for 204) or rejects with a Failure. The body's type
 * is the server's promise in API.md; it is not checked here.
 */
export type Method = 'GET' | 'POST' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new Failure('network', NETWORK_MESSAGE);
  }
  if (response.status === 204) return null as T;
  let data: unknown = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return data as T;
  throw failureOf(response, isObject(data) ? data : null);
}
