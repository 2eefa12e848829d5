import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { call, decodeJwtPayload, enrolledUser, loginUser, setNow, totpAt, useRealTime } from '../helpers';
import { fetchWith, interleavedDb } from './interleave';
import { statusCounts, T0, verifyWith } from './support';

afterEach(useRealTime);

/**
 * The second step of a login promotes the password-only session row in place
 * (src/core/second-factor/code.ts `promoteSession`): the password-only token then names a
 * full session. These tests pin what must still hold.
 */
interface SessionRow {
  id: string;
  authorized: number;
  created_at: number;
  expires_at: number;
  auth_time: number | null;
  amr: string;
  generation: number;
  revoked_at: number | null;
}

async function sessionsOf(userId: string): Promise<SessionRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at, id').bind(userId).all<SessionRow>();
  return results;
}

async function eventCount(userId: string, type: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM security_events WHERE user_id = ? AND type = ?').bind(userId, type).first<{ n: number }>();
  return row!.n;
}

/** A signed-in second device: the account's first session stays aside from the checks. */
async function journey(start: number) {
  const user = await enrolledUser(start);
  const now = start + 60;
  setNow(now);
  const { token } = await loginUser(user.username);
  return { user, now, passwordOnly: token, sid: decodeJwtPayload(token).sid as string };
}

describe('a password-only session promoted in place', () => {
  /**
   * Token substitution: after the journey, the password-only token (HS256,
   * `authorized: false`) names the very row that is now a full session. If any
   * route trusted the sid alone, a stolen password-only token would ride the
   * victim's full session. Every route refuses it: its claim no longer matches
   * the row, and the full-token routes take access tokens only.
   */
  it('the password-only token is refused on every route once its session is promoted, and cannot end it', async () => {
    const { user, now, passwordOnly, sid } = await journey(T0);
    const verified = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now) });
    expect(verified.status).toBe(200);
    expect(decodeJwtPayload(verified.body.token!).sid).toBe(sid);
    const routes: [string, string][] = [
      ['GET', '/me'],
      ['GET', '/sessions'],
      ['GET', '/me/security-events'],
      ['GET', '/webauthn/credentials'],
      ['POST', '/recovery-codes'],
      ['POST', '/create-otp'],
      ['GET', '/qrcode'],
      ['POST', '/webauthn/login/options'],
      ['POST', '/logout'],
    ];
    for (const [method, path] of routes) {
      const r = await call(path, { method, token: passwordOnly });
      expect({ path, status: r.status }).toEqual({ path, status: 401 });
    }
    // The logout above ended nothing: the full token still works.
    expect((await call('/me', { token: verified.body.token! })).status).toBe(200);
  });

  /**
   * Upgrading twice: a password-only token that already became a full session
   * presented again with the next valid code must not mint a second full
   * session (or new tokens for the first). API.md: a revoked token is 401.
   */
  it('a second /otp-verify with the same password-only token, with a fresh valid code, is 401', async () => {
    const { user, now, passwordOnly } = await journey(T0 + 1000);
    expect((await verifyWith(passwordOnly, { code: await totpAt(user.secret, now) })).status).toBe(200);
    setNow(now + 30);
    const again = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now + 30) });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('unauthorized');
    const again2 = await verifyWith(passwordOnly, { recoveryCode: user.recoveryCodes[0]! });
    expect(again2.status).toBe(401);
    expect(await eventCount(user.id, 'mfa_verified')).toBe(1);
    expect(await eventCount(user.id, 'recovery_code_used')).toBe(0);
  });

  /**
   * The race: two valid codes (two steps of the window) and a recovery code at
   * once with one password-only token. The guarded UPDATE (authorized = 0)
   * lets exactly one promote the row; the others change nothing, and only the
   * winner's commit spends its code and logs its event.
   */
  it('parallel /otp-verify with different valid proofs: exactly one 200, one full session, one event', async () => {
    const { user, now, passwordOnly, sid } = await journey(T0 + 2000);
    const proofs = [{ code: await totpAt(user.secret, now - 30) }, { code: await totpAt(user.secret, now) }, { recoveryCode: user.recoveryCodes[1]! }];
    const results = await Promise.all(proofs.map((proof) => verifyWith(passwordOnly, proof)));
    expect(statusCounts(results)[200]).toBe(1);
    const winner = results.find((r) => r.status === 200)!;
    expect((await call('/me', { token: winner.body.token! })).status).toBe(200);
    const row = (await sessionsOf(user.id)).find((s) => s.id === sid)!;
    expect(row).toMatchObject({ authorized: 1, revoked_at: null, generation: 0 });
    const events = (await eventCount(user.id, 'mfa_verified')) + (await eventCount(user.id, 'recovery_code_used'));
    expect(events).toBe(1);
    const usedCodes = await env.DB.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NOT NULL').bind(user.id).first<{ n: number }>();
    expect(usedCodes!.n).toBe(winner === results[2] ? 1 : 0);
  });

  /** A logout between the two steps (a user who walks away, or a revoked stolen password-only token): the second factor then opens nothing. */
  it('a logout of the password-only session before verify makes the verify fail and promotes nothing', async () => {
    const { user, now, passwordOnly, sid } = await journey(T0 + 3000);
    expect((await call('/logout', { method: 'POST', token: passwordOnly })).status).toBe(204);
    const r = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now) });
    expect(r.status).toBe(401);
    const row = (await sessionsOf(user.id)).find((s) => s.id === sid)!;
    expect(row.authorized).toBe(0);
    expect(row.revoked_at).toBe(now);
    // The code was not spent: another login may still use it.
    const fresh = await loginUser(user.username);
    expect((await verifyWith(fresh.token, { code: await totpAt(user.secret, now) })).status).toBe(200);
  });

  it('the full token: amr, auth_time, iat and exp as a new session at verify time; the row is a session that began then', async () => {
    const { user, now, passwordOnly, sid } = await journey(T0 + 4000);
    setNow(now + 7);
    const r = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now + 7) });
    expect(r.status).toBe(200);
    const claims = decodeJwtPayload(r.body.token!);
    expect(claims).toMatchObject({ sid, amr: ['pwd', 'otp'], auth_time: now + 7, iat: now + 7, authorized: true });
    expect(claims.exp).toBe(now + 7 + (r.body as { expiresIn: number }).expiresIn);
    const row = (await sessionsOf(user.id)).find((s) => s.id === sid)!;
    expect(row).toMatchObject({ authorized: 1, created_at: now + 7, auth_time: now + 7, amr: 'pwd otp', generation: 0 });
    expect(row.expires_at).toBe(now + 7 + Number(env.SESSION_MAX_SECONDS ?? 86400));
  });

  it('GET /sessions shows one session for the journey, begun at verify time', async () => {
    const { user, now, passwordOnly, sid } = await journey(T0 + 5000);
    const before = await sessionsOf(user.id);
    const r = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now) });
    const listed = await call<{ sessions: { id: string; current: boolean; createdAt: string }[] }>('/sessions', { token: r.body.token! });
    expect(listed.status).toBe(200);
    const current = listed.body.sessions.filter((s) => s.current);
    expect(current).toEqual([expect.objectContaining({ id: sid, createdAt: new Date(now * 1000).toISOString() })]);
    // The journey added no row: the enrollment's session and this one, nothing else.
    expect((await sessionsOf(user.id)).length).toBe(before.length);
    expect(listed.body.sessions).toHaveLength(before.length);
  });

  /**
   * Refresh after a promotion: generation 0 as a new session had; a refresh
   * rotates it, and an old refresh token replayed past the 30 s grace revokes
   * the whole session (reuse detection) as before.
   */
  it('the refresh token of the promoted session rotates, and its reuse past the grace revokes the session', async () => {
    const { user, now, passwordOnly } = await journey(T0 + 6000);
    const r = await verifyWith(passwordOnly, { code: await totpAt(user.secret, now) });
    const first = (r.body as { refreshToken: string }).refreshToken;
    setNow(now + 100);
    const rotated = await call<{ token: string; refreshToken: string }>('/refresh', { json: { refreshToken: first } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refreshToken).not.toBe(first);
    setNow(now + 200);
    const reuse = await call('/refresh', { json: { refreshToken: first } });
    expect(reuse.status).toBe(401);
    expect((await call('/me', { token: rotated.body.token })).status).toBe(401);
    expect(await eventCount(user.id, 'refresh_token_reused')).toBe(1);
  });
});

describe('/reauthenticate, renewed in place', () => {
  /**
   * A race of two step-ups with two valid codes (two steps of the window) in
   * the same second: B renews the session between A's read and A's commit, to
   * the very generation and rotation time A would write. A's commit then loses
   * its compare-and-swap, and none of its later statements may pass as if it
   * had won: no second `reauthenticated` event, no step of its own recorded.
   */
  it('a renewal that lost its compare-and-swap leaves no event and no step', async () => {
    const user = await enrolledUser(T0 + 8000);
    const now = T0 + 8000 + 400;
    setNow(now);
    let b: Awaited<ReturnType<typeof call>> | null = null;
    const db = interleavedDb(async ({ kind, sql }) => {
      if (kind === 'batch' && /^update "sessions" set "expires_at"/i.test(sql[0] ?? '') && b === null) {
        b = await call('/reauthenticate', { token: user.fullToken, json: { code: await totpAt(user.secret, now) } });
      }
    });
    const a = await fetchWith(db, '/reauthenticate', {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.fullToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: await totpAt(user.secret, now - 30) }),
    });
    expect(b!.status).toBe(200);
    expect(a.status).toBe(401);
    expect(await eventCount(user.id, 'reauthenticated')).toBe(1);
    const step = await env.DB.prepare('SELECT totp_last_step AS step FROM users WHERE id = ?').bind(user.id).first<{ step: number }>();
    expect(step!.step).toBe(Math.floor(now / 30));
  });
});
