import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, setNow, totpAt, useRealTime } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_950_800_000;

async function fullSession(user: { username: string; password: string; secret: string }, at: number) {
  setNow(at);
  const login = await call<{ token: string }>('/login', { json: { username: user.username, password: user.password } });
  const verified = await call<{ token: string }>('/otp-verify', { token: login.body.token, json: { code: await totpAt(user.secret, at) } });
  expect(verified.status).toBe(200);
  return verified.body.token;
}

async function sessionEndedEvents(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE user_id = ? AND type = 'session_ended'").bind(userId).first<{ n: number }>();
  return row!.n;
}

describe('DELETE /sessions/:id of a session that already ended by itself', () => {
  it('an idle-expired session of the caller is 404 not_found, as API.md says of an ended one, and logs nothing', async () => {
    // Before: the revoke matched any unrevoked row of the caller, so a session
    // that had ended by idling (or past its absolute end) answered 204 and left
    // a `session_ended` event for a session that was already over.
    const user = await enrolledUser(T0);
    const oldSid = decodeJwtPayload(user.fullToken).sid as string;
    // 3600 s without use: the first session is over.
    const current = await fullSession(user, T0 + 3601 + 30);
    const r = await call(`/sessions/${oldSid}`, { method: 'DELETE', token: current });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: 'not_found' });
    expect(await sessionEndedEvents(user.id)).toBe(0);
  });

  it('past its absolute end: 404 too', async () => {
    const user = await enrolledUser(T0);
    const oldSid = decodeJwtPayload(user.fullToken).sid as string;
    // The suite's SESSION_MAX_SECONDS is 86400: a day later it is over, whatever its use.
    const current = await fullSession(user, T0 + 86_400 + 30);
    expect((await call(`/sessions/${oldSid}`, { method: 'DELETE', token: current })).status).toBe(404);
  });
});
