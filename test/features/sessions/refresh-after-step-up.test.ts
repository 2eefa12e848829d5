import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, setNow, totpAt, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_950_100_000;

interface Pair {
  token: string;
  refreshToken: string;
}

const refresh = (refreshToken: string) => call<Pair>('/refresh', { json: { refreshToken } });

async function reusedEvents(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE user_id = ? AND type = 'refresh_token_reused'").bind(userId).first<{ n: number }>();
  return row!.n;
}

describe('the refresh token from before a step-up, replayed after the 30 s grace (RFC 9700 §4.14.2)', () => {
  it('attack: a thief replays the pre-step-up refresh token minutes later: the session is revoked and the reuse logged', async () => {
    // The story: a thief copied the refresh token; the owner then stepped up
    // (/reauthenticate rotates the session). The exemption for a refresh that
    // crossed a step-up exists for the owner's own in-flight request, which
    // arrives within seconds. Minutes later it can only be a copy: before the
    // fix it was refused quietly and the session lived on.
    const user = await enrolledUser(T0);
    setNow(T0 + 100);
    const stepped = await call<Pair>('/reauthenticate', { token: user.fullToken, json: { code: await totpAt(user.secret, T0 + 100) } });
    expect(stepped.status).toBe(200);
    setNow(T0 + 100 + 31);
    const stolen = await refresh(user.refreshToken);
    expect(stolen.status).toBe(401);
    expect(stolen.body).toMatchObject({ error: 'invalid_refresh_token' });
    expect(await reusedEvents(user.id)).toBe(1);
    const sid = decodeJwtPayload(user.fullToken).sid as string;
    const row = await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?').bind(sid).first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).toBe(T0 + 131);
    // The owner's tokens die with it.
    expect((await call('/me', { token: stepped.body.token })).status).toBe(401);
    expect((await refresh(stepped.body.refreshToken)).status).toBe(401);
  });

  it('within the grace the crossed refresh is still refused without revoking (the owner\'s own request)', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 100);
    const stepped = await call<Pair>('/reauthenticate', { token: user.fullToken, json: { code: await totpAt(user.secret, T0 + 100) } });
    setNow(T0 + 100 + 30);
    expect((await refresh(user.refreshToken)).status).toBe(401);
    expect(await reusedEvents(user.id)).toBe(0);
    expect((await refresh(stepped.body.refreshToken)).status).toBe(200);
  });
});
