import { and, eq, sql } from 'drizzle-orm';
import { REFRESH_GRACE_SECONDS } from '../../settings/tunables';
import { refreshTokenReusedEvent } from '../../core/events';
import { revokeSession, type ClientInfo } from '../../core/sessions/store';
import type { Db } from '../../db/client';
import { sessions, users } from '../../db/schema';
import { logEvent } from '../../core/log';
import type { Settings } from '../../settings';
import { readRefreshToken } from '../../tokens/refresh-token';
import { knownScopes } from './config';
import { clientSessionLive } from './grants';
import { OAuthError } from './oauth-error';
import { oidcGrants, type OidcClientRow } from './tables';
import { issueTokens, type TokenSet } from './tokens';

const dead = () => new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');

/**
 * grant_type=refresh_token: the v2 rotation (src/auth/refresh.ts) bound to
 * the client. One compare-and-swap on the client session's generation, only
 * while the session (and its provider session) is live and the grant is this
 * client's with a refresh token. The previous token again within 30 s gets
 * the identical tokens; any other reuse revokes the client session
 * (RFC 9700 §4.14.2). Another client's token is `invalid_grant` and changes
 * nothing. A refresh never raises `auth_time` or `acr`: they come from the rows.
 * Refresh tokens are made under the provider's key, so a JSON API refresh
 * token never passes here, nor one of these at POST /refresh.
 */
export async function refreshGrant(
  db: Db,
  settings: Settings,
  client: OidcClientRow,
  params: { refreshToken: string; scope: string | undefined },
  now: number,
  clientInfo: ClientInfo,
  /** Called with the person whose client session a reuse just revoked (back-channel logout). */
  onRevoked: (userId: string) => void = () => {},
): Promise<TokenSet | OAuthError> {
  const presented = await readRefreshToken(settings.oidcKey, params.refreshToken);
  if (!presented) return dead();
  const { sessionId, generation } = presented;
  const idleCutoff = now - settings.sessionIdleSeconds;
  const ours = sql`EXISTS (SELECT 1 FROM ${oidcGrants} WHERE ${oidcGrants.sessionId} = ${sessionId} AND ${oidcGrants.clientId} = ${client.id} AND ${oidcGrants.offline} = 1)`;
  const [rotated, [found]] = await db.batch([
    db
      .update(sessions)
      .set({ generation: generation + 1, rotatedAt: now, lastUsedAt: now })
      .where(and(eq(sessions.id, sessionId), eq(sessions.generation, generation), ours, clientSessionLive(sessionId, now, idleCutoff)))
      .returning(),
    db
      .select({ grant: oidcGrants, user: { id: users.id, username: users.username } })
      .from(oidcGrants)
      .innerJoin(users, eq(users.id, oidcGrants.userId))
      .where(eq(oidcGrants.sessionId, sessionId))
      .limit(1),
  ]);
  if (!found || found.grant.clientId !== client.id || !found.grant.offline) {
    logEvent('oidc_token_refused', { sessionId, reason: found ? 'another_client' : 'unknown_session' });
    return dead();
  }
  const { grant, user } = found;
  let scope: string | undefined;
  if (params.scope !== undefined) {
    const granted = grant.scope.split(' ');
    const asked = params.scope.split(' ').filter(Boolean);
    if (asked.some((item) => !granted.includes(item))) return new OAuthError('invalid_scope', 'The scope asked for is wider than the grant.');
    scope = knownScopes(params.scope).join(' ');
  }
  if (rotated[0]) {
    logEvent('token_refreshed', { userId: user.id, sessionId });
    return issueTokens(db, settings, { client, user, session: rotated[0], grant, nonce: null, scope }, now);
  }
  const [current] = await db.select().from(sessions).where(and(eq(sessions.id, sessionId), clientSessionLive(sessionId, now, idleCutoff))).limit(1);
  if (!current) return dead();
  const previous = current.generation === generation + 1 && current.rotatedAt !== null;
  if (previous && now - current.rotatedAt! <= REFRESH_GRACE_SECONDS) return issueTokens(db, settings, { client, user, session: current, grant, nonce: null, scope }, now);
  if (generation < current.generation) {
    await db.batch([
      refreshTokenReusedEvent(db, user.id, sessionId, clientInfo, now, sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId} AND ${sessions.revokedAt} IS NULL)`),
      revokeSession(db, sessionId, now),
    ]);
    logEvent('refresh_token_reused', { userId: user.id, sessionId, reason: `generation ${generation} of ${current.generation}` });
    onRevoked(user.id);
  }
  return dead();
}
