/**
 * Hostile forms at the provider's passwordless step (POST /authorize/passkey-signin): a
 * field missing, of the wrong shape or oversized, a body that is not a form. Each is a
 * 4xx or the page again with its alert, never a 5xx, and nothing is stored: no session,
 * no budget counted, no event.
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { setNow, useRealTime } from '../../helpers';
import { passkeyUser } from '../passkeys/support';
import { authorizePath, Browser, opEnv, pkce, registerClient, send, stepFields, T0 } from './support';
import { signinOffer } from './passwordless-support';

afterEach(useRealTime);

const workerEnv = opEnv();

async function storedRows(userId: string) {
  const row = await env.DB.prepare(
    "SELECT (SELECT count(*) FROM sessions WHERE user_id = ?1) AS sessions, (SELECT count(*) FROM security_events WHERE user_id = ?1) AS events, (SELECT count(*) FROM throttles WHERE key LIKE 'pk%') AS budgets",
  )
    .bind(userId)
    .first<{ sessions: number; events: number; budgets: number }>();
  return row!;
}

describe('POST /authorize/passkey-signin with hostile forms', () => {
  it('missing, mistyped and oversized fields, and a body that is not a form: a 4xx or the page with its alert, never a 5xx, nothing stored', async () => {
    const user = await passkeyUser(T0);
    const client = await registerClient(workerEnv, { firstParty: true });
    const { challenge } = await pkce();
    setNow(T0 + 30);
    const browser = new Browser(workerEnv);
    const page = await browser.get(authorizePath(client.clientId, challenge));
    const fields = { ...stepFields(page.text), challengeId: signinOffer(page.text).challengeId, response: '{}' };
    const before = await storedRows(user.id);
    const cases: Record<string, Record<string, string | undefined>> = {
      'no challengeId': { ...fields, challengeId: undefined },
      'no response': { ...fields, response: undefined },
      'no ticket': { ...fields, ticket: undefined },
      'no CSRF token': { ...fields, csrf: undefined },
      'a response that is a JSON string': { ...fields, response: '"x"' },
      'a response that is an array': { ...fields, response: '[1,2,3]' },
      'a response with wrong types': { ...fields, response: JSON.stringify({ id: 1, rawId: [], type: 5, response: 'x' }) },
      'an oversized response': { ...fields, response: JSON.stringify({ id: 'A'.repeat(200_000) }) },
      'an unknown challengeId': { ...fields, challengeId: 'not-a-challenge' },
    };
    for (const [what, form] of Object.entries(cases)) {
      const answer = await browser.post('/authorize/passkey-signin', form);
      expect(answer.status, what).toBeLessThan(500);
      if (answer.status === 200) expect(answer.text, what).toMatch(/role="alert"/);
      else expect(answer.status, what).toBeGreaterThanOrEqual(400);
    }
    const json = await send(workerEnv, '/authorize/passkey-signin', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin' }, body: JSON.stringify(fields) });
    expect(json.status).toBeGreaterThanOrEqual(400);
    expect(json.status).toBeLessThan(500);
    expect(await storedRows(user.id)).toEqual(before);
  });
});
