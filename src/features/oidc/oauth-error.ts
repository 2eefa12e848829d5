import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * RFC 6749 §5.2 errors of /token and /revoke, as values: a flow returns one,
 * the route answers it. The description is generic; the log gets the reason.
 */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

export class OAuthError {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {}
}

export const isOAuthError = (value: unknown): value is OAuthError => value instanceof OAuthError;

/** `invalid_client` is 401, with `WWW-Authenticate: Basic` when the client tried Basic (RFC 6749 §5.2); the rest 400. */
export function oauthErrorResponse(c: Context, failure: OAuthError, usedBasic: boolean): Response {
  const status: ContentfulStatusCode = failure.error === 'invalid_client' ? 401 : 400;
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
  if (status === 401 && usedBasic) headers['WWW-Authenticate'] = 'Basic realm="token", charset="UTF-8"';
  return c.json({ error: failure.error, error_description: failure.description }, status, headers);
}
