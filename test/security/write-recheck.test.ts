import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwtPayload, enrolledUser, loginUser, PASSWORD, registerUser, setNow, snapshot, totpAt, useRealTime } from '../helpers';
import { fetchWith, interleavedDb, isWrite, type Execution } from './interleave';
import { T0 } from './support';

afterEach(useRealTime);

/**
 * Overtaking a logout (issue 14, "every write re-checks the session"): the
 * middleware reads a live session, a logout (or an MFA change) lands, and the
 * writer commits anyway. Each writer's first statement is guarded by the
 * presented session still being live, so a write that lands after the logout
 * changes nothing and answers 401.
 */
async function logoutBefore(token: string, when: (execution: Execution) => boolean, path: string, body?: unknown) {
  const sid = decodeJwtPayload(token).sid as string;
  let afterLogout: string | null = null;
  const db = interleavedDb(async (execution) => {
    if (afterLogout === null && when(execution)) {
      await env.DB.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?').bind(Math.floor(Date.now() / 1000), sid).run();
      afterLogout = await snapshot();
    }
  });
  const response = await fetchWith(db, path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(afterLogout, 'the logout was injected').not.toBeNull();
  // Nothing was written after the logout.
  expect(await snapshot()).toBe(afterLogout);
  expect(response.status).toBe(401);
  expect(((await response.json()) as { error: string }).error).toBe('unauthorized');
  expect(response.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
}

const firstWrite = isWrite;
const firstBatch = (execution: Execution) => execution.kind === 'batch';

describe('a logout between the session read and the write: nothing is written, 401', () => {
  it('/create-otp (password-only token, first enrollment)', async () => {
    setNow(T0);
    const user = await registerUser();
    const { token } = await loginUser(user.username);
    await logoutBefore(token, firstWrite, '/create-otp');
  });

  it('/create-otp (full token, re-enrollment)', async () => {
    const user = await enrolledUser(T0 + 600);
    await logoutBefore(user.fullToken, firstWrite, '/create-otp');
  });

  it('/recovery-codes', async () => {
    const user = await enrolledUser(T0 + 1200);
    await logoutBefore(user.fullToken, firstWrite, '/recovery-codes');
  });

  it('/disable-otp with the password', async () => {
    const user = await enrolledUser(T0 + 1800);
    await logoutBefore(user.fullToken, firstBatch, '/disable-otp', { password: PASSWORD });
  });

  it('/disable-otp with a code', async () => {
    const user = await enrolledUser(T0 + 2400);
    const now = T0 + 2460;
    setNow(now);
    await logoutBefore(user.fullToken, firstBatch, '/disable-otp', { code: await totpAt(user.secret, now) });
  });
});
