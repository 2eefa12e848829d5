import type { Db } from '../../db/client';
import type { Settings } from '../../settings';
import { findClient, redirectUriRegistered } from './clients';
import { CODE_CHALLENGE, knownScopes, LOGIN_HINT_MAX_CHARS, NONCE_MAX_CHARS, STATE_MAX_CHARS } from './config';
import { verifyIdTokenHint } from './end-session';
import { ACR_VALUES } from '../../tokens/access-token';
import { isAcr } from './acr';
import type { OidcClientRow } from './tables';
import type { AuthorizationRequest } from './ticket';

/**
 * The authorization request (API.md, "The authorization request"), checked
 * in the contract's order. Until the client and its redirect URI are known
 * good, an error is a page of ours and never a redirect (RFC 6749 §4.1.2.1:
 * an open redirector otherwise); every later error goes back to the client
 * with `state` and `iss` (RFC 9207).
 */
export type Checked =
  | { kind: 'page'; reason: string }
  | { kind: 'redirect'; redirectUri: string; state: string | null; error: string; description: string }
  | { kind: 'ok'; client: OidcClientRow; request: AuthorizationRequest; prompt: Set<string>; hintedSub?: string | null };

/** Parameters from the query (GET) or the form (POST); one sent twice counts as malformed. */
export type Params = Map<string, string | null>;

/** A parameter name safe to quote in an error_description (RFC 6749 §4.1.2.1's characters, and no markup). */
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

export function paramsOf(entries: Iterable<[string, string]>): Params {
  const params: Params = new Map();
  for (const [name, value] of entries) params.set(name, params.has(name) ? null : value);
  return params;
}

export async function checkAuthorizationRequest(primary: Db, settings: Settings, params: Params, now: number): Promise<Checked> {
  const clientId = params.get('client_id');
  if (!clientId) return { kind: 'page', reason: 'The request names no client (client_id).' };
  const client = await findClient(primary, clientId);
  if (!client) return { kind: 'page', reason: 'The application that sent you here is not registered with this service.' };
  const redirectUri = params.get('redirect_uri');
  if (!redirectUri || !redirectUriRegistered(client, redirectUri)) {
    return { kind: 'page', reason: 'The address the application asked to return to is not registered for it.' };
  }
  const rawState = params.get('state');
  const state = rawState === undefined || rawState === null ? null : rawState.slice(0, STATE_MAX_CHARS);
  const back = (error: string, description: string): Checked => ({ kind: 'redirect', redirectUri, state, error, description });
  if (rawState === null) return back('invalid_request', 'state is repeated.');
  if (rawState !== undefined && rawState.length > STATE_MAX_CHARS) return back('invalid_request', 'state is too long.');
  // Only a plain name is quoted: the description reaches the client's page, and whoever made the link chose the name.
  for (const [name, value] of params) if (value === null) return back('invalid_request', PLAIN_NAME.test(name) ? `${name} is repeated.` : 'A parameter is repeated.');
  // OIDC Core §6: request objects are not supported, each with its own error.
  if (params.has('request')) return back('request_not_supported', 'Request objects are not supported.');
  if (params.has('request_uri')) return back('request_uri_not_supported', 'request_uri is not supported.');
  // RFC 6749 §4.1.2.1: a missing parameter is a malformed request; another response type, one we do not support.
  if (!params.get('response_type')) return back('invalid_request', 'response_type is required (code).');
  if (params.get('response_type') !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported.');
  const responseMode = params.get('response_mode');
  if (responseMode !== undefined && responseMode !== 'query') return back('invalid_request', 'Only response_mode=query is supported.');
  const scopes = knownScopes(params.get('scope') ?? '');
  if (!scopes.includes('openid')) return back('invalid_request', 'scope must contain openid.');
  // RFC 9700 §2.1.1: PKCE for every client, S256 only (plain reveals the verifier to whoever sees the request).
  const codeChallenge = params.get('code_challenge');
  if (!codeChallenge || params.get('code_challenge_method') !== 'S256' || !CODE_CHALLENGE.test(codeChallenge)) {
    return back('invalid_request', 'PKCE is required: code_challenge (43 characters) with code_challenge_method=S256.');
  }
  const nonce = params.get('nonce') ?? null;
  if (nonce !== null && nonce.length > NONCE_MAX_CHARS) return back('invalid_request', 'nonce is too long.');
  const prompt = new Set((params.get('prompt') ?? '').split(' ').filter(Boolean));
  if (prompt.has('none') && prompt.size > 1) return back('invalid_request', 'prompt=none cannot be combined.');
  const rawMaxAge = params.get('max_age');
  if (rawMaxAge !== undefined && (rawMaxAge === null || !/^[0-9]{1,9}$/.test(rawMaxAge))) return back('invalid_request', 'max_age must be a number of seconds.');
  const maxAge = rawMaxAge === undefined ? null : Number(rawMaxAge);
  // OIDC Core §3.1.2.1: unknown acr values are ignored; only the supported ones, in the client's order.
  const acrValues = (params.get('acr_values') ?? '').split(' ').filter(isAcr).slice(0, ACR_VALUES.length);
  // max_age=0 is prompt=login; otherwise a session proven more than max_age seconds ago does not count.
  const forceLogin = prompt.has('login') || maxAge === 0;
  const authAfter = forceLogin ? now : maxAge !== null ? now - maxAge : null;
  // OIDC Core §3.1.2.1: login_hint prefills the username (a hint only: the person may sign in as anyone); too long to be one, ignored.
  const rawLoginHint = params.get('login_hint');
  const loginHint = rawLoginHint && rawLoginHint.length <= LOGIN_HINT_MAX_CHARS ? rawLoginHint : undefined;
  // id_token_hint names who the client expects: a live session of anyone else (or a hint we cannot verify) is no SSO.
  const rawIdTokenHint = params.get('id_token_hint');
  const hintedSub = rawIdTokenHint === undefined ? undefined : rawIdTokenHint ? ((await verifyIdTokenHint(primary, settings, rawIdTokenHint, now))?.sub ?? null) : null;
  return {
    kind: 'ok',
    client,
    prompt,
    hintedSub,
    request: { clientId: client.id, redirectUri, scopes, state, nonce, codeChallenge, forceLogin, authAfter, acrValues, ...(loginHint ? { loginHint } : {}), ...(prompt.has('consent') ? { askConsent: true } : {}) },
  };
}

/**
 * The redirect back to the client: `error` or `code`, with `state` and `iss`
 * always (RFC 9207 §2). A registered query is kept byte for byte (RFC 6749
 * §3.1.2: it MUST be retained): the fields are appended to it, never
 * re-serialized with it (URLSearchParams would rewrite `%20`, `~` or `flag`).
 */
export function redirectBack(redirectUri: string, issuer: string, fields: Record<string, string | null>): string {
  const url = new URL(redirectUri);
  const added = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== null && name !== 'iss') added.append(name, value);
  added.append('iss', issuer);
  url.search = url.search.length > 1 ? `${url.search.slice(1)}&${added}` : `${added}`;
  return url.href;
}
