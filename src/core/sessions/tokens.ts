import type { Db } from '../../db/client';
import type { SessionRow, UserRow } from '../../db/schema';
import type { Settings } from '../../settings';
import { acrOf, signAccessToken } from '../../tokens/access-token';
import { accessTokenId, makeRefreshToken } from '../../tokens/refresh-token';

export interface SessionTokens {
  token: string;
  refreshToken: string;
  expiresIn: number;
}

type FullSession = Pick<SessionRow, 'id' | 'authTime' | 'amr' | 'expiresAt' | 'generation' | 'rotatedAt'> & { acr?: string | null };

/**
 * The access and refresh tokens of one generation of a full session. They are
 * a function of the stored row alone (iat is the rotation time, the jti an
 * HMAC of the generation, Ed25519 signatures are deterministic, RFC 8032 §5.1.6),
 * so the 30 s grace can hand a retried refresh the very same pair.
 * exp never passes the session's absolute end, nor its idle end as of issue.
 */
export async function issueSessionTokens(
  db: Db,
  settings: Settings,
  user: Pick<UserRow, 'id' | 'username'>,
  session: FullSession,
  now: number,
): Promise<SessionTokens> {
  const issuedAt = session.rotatedAt!;
  const [jti, refreshToken] = await Promise.all([
    accessTokenId(settings.refreshKey, session.id, session.generation),
    makeRefreshToken(settings.refreshKey, session.id, session.generation),
  ]);
  const access = await signAccessToken(
    db,
    settings,
    {
      sub: user.id,
      username: user.username,
      sid: session.id,
      amr: session.amr.split(' '),
      acr: acrOf(session.acr),
      authTimeSeconds: session.authTime!,
      sessionEndsAtSeconds: Math.min(session.expiresAt, issuedAt + settings.sessionIdleSeconds),
      jti,
    },
    issuedAt,
  );
  return { token: access.token, refreshToken, expiresIn: Math.max(1, access.exp - now) };
}
