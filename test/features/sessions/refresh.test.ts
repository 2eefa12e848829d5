import { env } from 'cloudflare:test';
import { budgetRow } from '../../budget';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, setNow, totpAt, useRealTime, withOneCharacterChanged } from '../../helpers';

afterEach(useRealTime);

const T0 = 1_950_000_000;

interface Pair {
  token: string;
  refreshToken: string;
  authorized: true;
  expiresIn: number;
}

const refresh = (refreshToken: unknown) => call<Pair>('/refresh', { json: { refreshToken } });

async function sessionRow(sid: string) {
  return env.DB.prepare('SELECT generation, revoked_at, rotated_at, last_used_at, expires_at, auth_time FROM sessions WHERE id = ?').bind(sid).first<{
    generation: number;
    revoked_at: number | null;
    rotated_at: number;
    last_used_at: number;
    expires_at: number;
    auth_time: number;
  }>();
}

describe('POST /refresh: rotation', () => {
  it('rotates: a new pair, the next generation, the same session and auth_time', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 200);
    const r = await refresh(user.refreshToken);
    expect(r.status).toBe(200);
    // The test pool sets ACCESS_TOKEN_TTL_SECONDS to 900.
    expect(r.body).toMatchObject({ authorized: true, expiresIn: 900 });
    expect(r.body.refreshToken).not.toBe(user.refreshToken);
    const before = decodeJwtPayload(user.fullToken);
    const after = decodeJwtPayload(r.body.token);
    expect(after.sid).toBe(before.sid);
    expect(after.auth_time).toBe(T0);
    expect(after.iat).toBe(T0 + 200);
    expect((await call('/me', { token: r.body.token })).status).toBe(200);
    expect(await sessionRow(String(after.sid))).toMatchObject({ generation: 1, revoked_at: null, rotated_at: T0 + 200 });
  });

  it('twenty parallel refreshes of one token make exactly one new generation and twenty identical answers', async () => {
    // A stampede (many tabs, a retrying client): one compare-and-swap wins, the
    // others land in the 30 s grace and get the winner's pair, byte for byte.
    const user = await enrolledUser(T0);
    setNow(T0 + 10);
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refreshToken)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body.token)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
    const sid = String(decodeJwtPayload(user.fullToken).sid);
    expect(await sessionRow(sid)).toMatchObject({ generation: 1, revoked_at: null });
  });

  it('a lost response retried within 30 s gets the same pair; the new refresh token goes on working', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 100);
    const first = await refresh(user.refreshToken);
    setNow(T0 + 130);
    const retry = await refresh(user.refreshToken);
    expect(retry.status).toBe(200);
    expect(retry.body.token).toBe(first.body.token);
    expect(retry.body.refreshToken).toBe(first.body.refreshToken);
    const next = await refresh(first.body.refreshToken);
    expect(next.status).toBe(200);
  });

  it('the previous token 31 s after its rotation is a reuse: the session is revoked, its access tokens refused at once', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 100);
    const first = await refresh(user.refreshToken);
    setNow(T0 + 131);
    const stolen = await refresh(user.refreshToken);
    expect(stolen.status).toBe(401);
    expect(stolen.body).toMatchObject({ error: 'invalid_refresh_token' });
    expect((await call('/me', { token: first.body.token })).status).toBe(401);
    expect((await refresh(first.body.refreshToken)).status).toBe(401);
  });

  it('reuse of an older generation revokes the session, even within 30 s (its successor was used)', async () => {
    // RFC 9700 §4.14.2: a refresh token used twice was copied; end the whole session.
    const user = await enrolledUser(T0);
    setNow(T0 + 100);
    const g1 = await refresh(user.refreshToken);
    const g2 = await refresh(g1.body.refreshToken);
    expect(g2.status).toBe(200);
    const replay = await refresh(user.refreshToken);
    expect(replay.status).toBe(401);
    const sid = String(decodeJwtPayload(user.fullToken).sid);
    expect((await sessionRow(sid))!.revoked_at).toBe(T0 + 100);
    expect((await call('/me', { token: g2.body.token })).status).toBe(401);
    expect((await refresh(g2.body.refreshToken)).status).toBe(401);
  });

  it('unknown, forged, malformed and non-string refresh tokens are all 401 invalid_refresh_token or 400, never 5xx', async () => {
    const user = await enrolledUser(T0);
    const [prefix, sid, generation, tag] = user.refreshToken.split('.');
    const forged = [
      `${prefix}.${sid}.${Number(generation) + 5}.${tag}`,
      `${prefix}.${crypto.randomUUID()}.0.${tag}`,
      `${prefix}.${sid}.${generation}.${withOneCharacterChanged(tag!)}`,
      'rt1.x.0.y',
      user.fullToken,
      '',
    ];
    for (const token of forged) {
      const r = await refresh(token);
      expect(r.status, token).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_refresh_token' });
    }
    expect((await refresh(12)).status).toBe(400);
    expect((await call('/refresh', { json: {} })).status).toBe(400);
    expect((await call('/refresh', { body: '{', headers: { 'Content-Type': 'application/json' } })).body).toMatchObject({ error: 'invalid_json' });
    // None of that revoked the real session.
    expect((await refresh(user.refreshToken)).status).toBe(200);
  });

  it('a password-only token is no refresh token, and an access token is not either', async () => {
    const user = await enrolledUser(T0);
    const login = await call<{ token: string }>('/login', { json: { username: user.username, password: user.password } });
    expect((await refresh(login.body.token)).status).toBe(401);
    expect((await refresh(user.fullToken)).status).toBe(401);
  });
});

describe('a refresh racing a logout, a password change or MFA disable never resurrects a session', () => {
  it('logout and refresh at once: afterwards the session is dead whichever landed first', async () => {
    for (let i = 0; i < 3; i++) {
      const user = await enrolledUser(T0);
      setNow(T0 + 50);
      const [out, refreshed] = await Promise.all([call('/logout', { token: user.fullToken, json: {} }), refresh(user.refreshToken)]);
      expect(out.status).toBe(204);
      if (refreshed.status === 200) {
        expect((await call('/me', { token: refreshed.body.token })).status).toBe(401);
        expect((await refresh(refreshed.body.refreshToken)).status).toBe(401);
      } else {
        expect(refreshed.status).toBe(401);
      }
      expect((await refresh(user.refreshToken)).status).toBe(401);
    }
  });

  it('disable-otp and refresh at once: no token of the session works afterwards', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 60);
    const [disabled, refreshed] = await Promise.all([
      call('/disable-otp', { token: user.fullToken, json: { password: user.password } }),
      refresh(user.refreshToken),
    ]);
    expect(disabled.status).toBe(200);
    if (refreshed.status === 200) expect((await call('/me', { token: refreshed.body.token })).status).toBe(401);
    expect((await refresh(refreshed.status === 200 ? refreshed.body.refreshToken : user.refreshToken)).status).toBe(401);
  });
});

describe('session lifetimes (SESSION_MAX_SECONDS 86400, SESSION_IDLE_SECONDS 3600)', () => {
  it('idle: a refresh at 3599 s keeps it; 3600 s without use ends it', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 3599);
    const kept = await refresh(user.refreshToken);
    expect(kept.status).toBe(200);
    setNow(T0 + 3599 + 3600);
    expect((await refresh(kept.body.refreshToken)).status).toBe(401);
  });

  it('idle: an authenticated call renews it too (written at most once a minute)', async () => {
    const user = await enrolledUser(T0);
    const sid = String(decodeJwtPayload(user.fullToken).sid);
    setNow(T0 + 30);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    expect((await sessionRow(sid))!.last_used_at).toBe(T0);
    setNow(T0 + 60);
    expect((await call('/me', { token: user.fullToken })).status).toBe(200);
    expect((await sessionRow(sid))!.last_used_at).toBe(T0 + 60);
    setNow(T0 + 60 + 3599);
    expect((await refresh(user.refreshToken)).status).toBe(200);
  });

  it('absolute: 86400 s after auth_time the session ends, however often it was refreshed; exp never passes it', async () => {
    const user = await enrolledUser(T0);
    let token = user.refreshToken;
    let last: Pair | undefined;
    for (let t = T0 + 3000; t < T0 + 86400; t += 3000) {
      setNow(t);
      const r = await refresh(token);
      expect(r.status, `at ${t - T0}`).toBe(200);
      token = r.body.refreshToken;
      last = r.body;
      expect(Number(decodeJwtPayload(r.body.token).exp)).toBeLessThanOrEqual(T0 + 86400);
    }
    setNow(T0 + 86399 - 100);
    const nearEnd = await refresh(token);
    expect(nearEnd.status).toBe(200);
    expect(decodeJwtPayload(nearEnd.body.token).exp).toBe(T0 + 86400);
    expect(nearEnd.body.expiresIn).toBe(101);
    setNow(T0 + 86399);
    expect((await call('/me', { token: nearEnd.body.token })).status).toBe(200);
    setNow(T0 + 86400);
    expect((await refresh(nearEnd.body.refreshToken)).status).toBe(401);
    expect((await call('/me', { token: nearEnd.body.token })).status).toBe(401);
    expect(last).toBeDefined();
  });
});

describe('step-up: sensitive routes need a second factor within 300 s (RFC 9470)', () => {
  it('at 300 s /recovery-codes works; at 301 s it is 401 insufficient_user_authentication with max_age, until /reauthenticate', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 300);
    expect((await call('/recovery-codes', { method: 'POST', token: user.fullToken })).status).toBe(201);
    setNow(T0 + 301);
    const stale = await call('/recovery-codes', { method: 'POST', token: user.fullToken });
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ error: 'insufficient_user_authentication' });
    expect(stale.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="insufficient_user_authentication".*max_age=300/);
    // A refresh does not prove a factor: auth_time stays.
    const refreshed = await refresh(user.refreshToken);
    expect((await call('/recovery-codes', { method: 'POST', token: refreshed.body.token })).status).toBe(401);
    setNow(T0 + 331);
    const again = await call<Pair>('/reauthenticate', { token: refreshed.body.token, json: { code: await totpAt(user.secret, T0 + 331) } });
    expect(again.status).toBe(200);
    expect(decodeJwtPayload(again.body.token)).toMatchObject({ auth_time: T0 + 331, sid: decodeJwtPayload(user.fullToken).sid });
    expect((await call('/recovery-codes', { method: 'POST', token: again.body.token })).status).toBe(201);
    // Attack: a thief holding the tokens from before the step-up. The old access
    // token does not borrow the fresh proof (its own auth_time is checked), and
    // the old refresh token gets no pair within the 30 s grace, which replays
    // refreshes only, never a step-up. Refused without revoking: the owner's
    // own request may have crossed the step-up.
    expect((await call('/recovery-codes', { method: 'POST', token: refreshed.body.token })).body).toMatchObject({
      error: 'insufficient_user_authentication',
    });
    expect((await call('/create-otp', { method: 'POST', token: refreshed.body.token })).body).toMatchObject({
      error: 'insufficient_user_authentication',
    });
    const lost = await refresh(refreshed.body.refreshToken);
    expect(lost.status).toBe(401);
    expect(lost.body).toMatchObject({ error: 'invalid_refresh_token' });
    expect((await call('/me', { token: again.body.token })).status).toBe(200);
    expect((await refresh(again.body.refreshToken)).status).toBe(200);
  });

  it('/reauthenticate: a wrong code is 401 invalid_code and counts; a password-only token is 403; a replayed code is refused', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 400);
    const wrong = await call('/reauthenticate', { token: user.fullToken, json: { code: await totpAt(user.secret, T0 - 600) } });
    expect(wrong.body).toMatchObject({ error: 'invalid_code' });
    const failures = await budgetRow(`otp:${user.id}`);
    expect(failures!.failures).toBe(1);
    const login = await call<{ token: string }>('/login', { json: { username: user.username, password: user.password } });
    expect((await call('/reauthenticate', { token: login.body.token, json: { code: '123456' } })).status).toBe(403);
    const code = await totpAt(user.secret, T0 + 400);
    const [a, b] = await Promise.all([
      call('/reauthenticate', { token: user.fullToken, json: { code } }),
      call('/reauthenticate', { token: user.fullToken, json: { code } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
  });

  it('re-enrollment with a stale full token is refused; disable-otp too', async () => {
    const user = await enrolledUser(T0);
    setNow(T0 + 301);
    expect((await call('/create-otp', { method: 'POST', token: user.fullToken })).body).toMatchObject({ error: 'insufficient_user_authentication' });
    expect((await call('/disable-otp', { token: user.fullToken, json: { password: user.password } })).body).toMatchObject({
      error: 'insufficient_user_authentication',
    });
  });
});
