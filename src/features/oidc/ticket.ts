import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';
import type { Acr } from '../../tokens/access-token';
import { TICKET_TTL_SECONDS, type Scope } from './config';
import type { ClientRef } from './clients';
import { tagMatches, tagOf } from './hmac';

/**
 * A validated authorization request, carried by the hosted pages' forms as
 * one signed value (`ticket`), so nothing about the request is stored before
 * a person has signed in and nothing in it can be changed by the browser: a
 * ticket names its client, redirect URI, scopes, state, nonce and PKCE
 * challenge, and expires after TICKET_TTL_SECONDS.
 */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: Scope[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string;
  /** `prompt=login`: sign in again even with a live provider session. */
  forceLogin: boolean;
  /** With `prompt=login` or `max_age`: only a second factor proven at or after this time counts. */
  authAfter: number | null;
  /** `acr_values`: the supported ones, in the client's order of preference (empty: none asked). */
  acrValues?: Acr[];
  /** `login_hint`: the username the sign-in page starts with. */
  loginHint?: string;
  /** `prompt=consent` (a client that is not first-party): the consent page even when a consent is remembered, after a sign-in too. */
  askConsent?: boolean;
  /** On the consent page's ticket: the provider session it asked; its answer counts only in that session. */
  consentSession?: string;
}

/** The client as the ticket's maker read it (clients.ts, ClientRef); the id is the request's. */
type TicketClient = Pick<ClientRef, 'name' | 'firstParty' | 'registeredUri'>;

interface TicketBody extends AuthorizationRequest {
  exp: number;
  client?: TicketClient;
}

/** A genuine ticket: the request, and the client as it was when the ticket was made (not verified since). */
export interface Ticket {
  request: AuthorizationRequest;
  client: ClientRef | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function makeTicket(key: CryptoKey, request: AuthorizationRequest, client: ClientRef, now: number): Promise<string> {
  const carried: TicketClient = { name: client.name, firstParty: client.firstParty, registeredUri: client.registeredUri };
  const body = encodeBase64urlNoPadding(encoder.encode(JSON.stringify({ ...request, exp: now + TICKET_TTL_SECONDS, client: carried } satisfies TicketBody)));
  return `${body}.${await tagOf(key, 'ticket', body)}`;
}

/** The request (and client) a genuine, unexpired ticket carries; null otherwise. */
export async function readTicket(key: CryptoKey, ticket: unknown, now: number): Promise<Ticket | null> {
  if (typeof ticket !== 'string' || ticket.length > 8192) return null;
  const [body, tag, ...rest] = ticket.split('.');
  if (!body || !tag || rest.length > 0 || !(await tagMatches(key, tag, 'ticket', body))) return null;
  let parsed: TicketBody;
  try {
    parsed = JSON.parse(decoder.decode(decodeBase64urlIgnorePadding(body))) as TicketBody;
  } catch {
    return null;
  }
  if (typeof parsed.exp !== 'number' || parsed.exp <= now) return null;
  const { exp: _exp, client, ...request } = parsed;
  return { request, client: client ? { id: request.clientId, ...client, verified: false } : null };
}

/** The CSRF token of a form: bound to this browser (its flow cookie) and to this pending request (its ticket). */
export function csrfTokenOf(key: CryptoKey, flowCookie: string, ticket: string): Promise<string> {
  return tagOf(key, 'csrf', flowCookie, ticket);
}

export function csrfTokenMatches(key: CryptoKey, token: unknown, flowCookie: string | undefined, ticket: string): Promise<boolean> {
  if (typeof token !== 'string' || !flowCookie) return Promise.resolve(false);
  return tagMatches(key, token, 'csrf', flowCookie, ticket);
}
