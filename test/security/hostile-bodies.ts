import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/settings/tunables';
import { call, enrolledUser, loginUser, snapshot, useRealTime } from '../helpers';
import { T0 } from './support';

/**
 * Hostile request bodies on every POST route. Hono's bodyLimit advisory
 * (GHSA-92vj-g62v-jqhh) let a chunked body without Content-Length past the
 * size check; JSON parsers that take a BOM, a non-JSON content type or a
 * Mongo-style operator object (`{"$ne": ""}`) have each been an entry point
 * elsewhere. Every case gets the 4xx of API.md and leaves storage unchanged.
 */

type Outcome = [status: number, error: string];
interface BodyCase {
  name: string;
  body: () => BodyInit;
  headers?: Record<string, string>;
  expected: Outcome;
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const encoder = new TextEncoder();
const big = () => JSON.stringify({ username: 'someone', password: 'p'.repeat(BODY_LIMIT_BYTES) });

function chunkedStream(totalBytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  const chunk = encoder.encode(' '.repeat(1024));
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

/** Refused by the body middleware, before any route logic: the same on every POST route. */
export const ENVELOPE_CASES: BodyCase[] = [
  { name: 'malformed JSON', body: () => '{"username":', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  { name: 'a trailing comma', body: () => '{"code":"123456",}', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  { name: 'a UTF-8 byte order mark', body: () => '\uFEFF{"code":"123456"}', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  { name: 'invalid UTF-8', body: () => new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  { name: 'JSON sent as text/plain', body: () => '{"code":"123456"}', headers: { 'Content-Type': 'text/plain' }, expected: [415, 'unsupported_media_type'] },
  { name: 'JSON with no content type', body: () => encoder.encode('{"code":"123456"}'), expected: [415, 'unsupported_media_type'] },
  { name: 'a form', body: () => 'code=123456', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, expected: [415, 'unsupported_media_type'] },
  { name: 'a look-alike JSON type', body: () => '{"code":"123456"}', headers: { 'Content-Type': 'application/jsonx' }, expected: [415, 'unsupported_media_type'] },
  { name: 'over 16 KiB with Content-Length', body: big, headers: JSON_TYPE, expected: [413, 'payload_too_large'] },
  { name: 'over 16 KiB as a chunked stream (no Content-Length)', body: () => chunkedStream(BODY_LIMIT_BYTES + 4096), headers: JSON_TYPE, expected: [413, 'payload_too_large'] },
  { name: 'a 1 MiB chunked stream', body: () => chunkedStream(1024 * 1024), headers: JSON_TYPE, expected: [413, 'payload_too_large'] },
];

const validation: Outcome = [400, 'validation_failed'];
const json = (value: unknown) => ({ name: `JSON ${JSON.stringify(value).slice(0, 60)}`, body: () => JSON.stringify(value), headers: JSON_TYPE, expected: validation });

/** `{"<field>":{"a":{"a":...}}}`, 250 levels each (under 16 KiB), for every field a route reads. */
function nestedIn(...fields: string[]): string {
  const deep = '{"a":'.repeat(250) + '1' + '}'.repeat(250);
  return `{${fields.map((field) => `"${field}":${deep}`).join(',')}}`;
}

/** Parsed JSON of the wrong shape: refused by the route's schema. */
export const SHAPE_CASES: BodyCase[] = [
  { name: 'deeply nested arrays', body: () => '['.repeat(5000) + ']'.repeat(5000), headers: JSON_TYPE, expected: validation },
  // Nested inside the one field every schema here checks the type of.
  { name: 'deeply nested objects', body: () => nestedIn('all', 'username', 'password', 'code', 'token', 'recoveryCode'), headers: JSON_TYPE, expected: validation },
  json([]),
  json(null),
  json(42),
  json(-0.5e308),
  json('a string'),
  json(true),
];

export const CREDENTIAL_CASES: BodyCase[] = [
  { name: 'an empty body', body: () => '', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  json({}),
  json({ username: 'someone' }),
  json({ username: 123456, password: 'a fine password' }),
  json({ username: 'someone', password: ['a fine password'] }),
  json({ username: { $ne: '' }, password: { $ne: '' } }),
  json({ username: 'someone', password: { $gt: '' } }),
  json({ username: null, password: null }),
  json({ username: 'some\u0000one', password: 'a fine password' }),
  json({ username: 'some\u0007one', password: 'a fine password' }),
  json({ username: 'x'.repeat(10_000), password: 'a fine password' }),
];

/** A password to check that no registration could have accepted: a malformed body, not a guess. */
export const LOGIN_ONLY_CASES: BodyCase[] = [json({ username: 'someone', password: 'p'.repeat(10_000) })];

/** A new password of any length is a weak one (API.md: 8 to 256 characters, else weak_password). */
export const REGISTER_ONLY_CASES: BodyCase[] = [
  {
    name: 'a 10 000-character password',
    body: () => JSON.stringify({ username: 'someone', password: 'p'.repeat(10_000) }),
    headers: JSON_TYPE,
    expected: [400, 'weak_password'],
  },
];

export const CODE_CASES: BodyCase[] = [
  { name: 'an empty body', body: () => '', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  json({}),
  json({ code: 123456 }),
  json({ code: { $ne: '' } }),
  json({ code: ['123456'] }),
  json({ code: null }),
  json({ token: true }),
  json({ recoveryCode: 1234567890 }),
  json({ code: '123456', recoveryCode: 'AAAAA-AAAAA' }),
  json({ code: '123456', token: '123456' }),
  json({ code: '12345' }),
  json({ code: '1234567' }),
  json({ code: '１２３４５６' }),
  json({ code: '12345\u0000' }),
  json({ code: '1'.repeat(10_000) }),
  json({ recoveryCode: 'A'.repeat(10_000) }),
];

export const DISABLE_CASES: BodyCase[] = [
  { name: 'an empty body', body: () => '', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  json({}),
  json({ password: { $ne: '' } }),
  json({ code: 123456 }),
  json({ code: '123456', password: 'a fine password' }),
  json({ password: 'p'.repeat(10_000) }),
];

/** A well-formed assertion's shape with one part broken: refused before any attempt is reserved. */
const assertion = (response: Record<string, unknown>) => ({ challengeId: 'a-challenge', response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', clientExtensionResults: {}, ...response } });
const assertionParts = { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' };

export const WEBAUTHN_VERIFY_CASES: BodyCase[] = [
  { name: 'an empty body', body: () => '', headers: JSON_TYPE, expected: [400, 'invalid_json'] },
  json({}),
  json({ challengeId: 'a-challenge' }),
  json({ response: {} }),
  json({ challengeId: 42, response: {} }),
  json({ challengeId: '', response: {} }),
  json({ challengeId: 'c'.repeat(65), response: {} }),
  json({ challengeId: 'a-challenge', response: 'a string' }),
  json({ challengeId: 'a-challenge', response: [] }),
  json({ challengeId: 'a-challenge', response: {} }),
  json(assertion({ response: 'not an object' })),
  // Not base64url: the URL alphabet only, no stray or excess padding, no non-zero unused bits.
  json(assertion({ response: { ...assertionParts, clientDataJSON: 'e30+' } })),
  json(assertion({ response: { ...assertionParts, authenticatorData: 'AA==AA' } })),
  json(assertion({ response: { ...assertionParts, signature: 'AB' } })),
  json(assertion({ rawId: 'A' })),
  json(assertion({ response: { ...assertionParts, authenticatorData: 'A'.repeat(12_000) } })),
];

export const LOGOUT_CASES: BodyCase[] = [json({ all: 'true' }), json({ all: 1 }), json({ all: null })];

export interface RouteCases {
  path: string;
  token?: 'pwd' | 'full';
  cases: BodyCase[];
}

/** Registers one table of cases: each against its route as an enrolled user; storage must not change. */
export function hostileBodyTable(routes: RouteCases[]): void {
  let tokens: { pwd: string; full: string };
  let before: string;

  beforeAll(async () => {
    const user = await enrolledUser(T0);
    tokens = { pwd: (await loginUser(user.username)).token, full: user.fullToken };
    before = await snapshot();
  });
  afterAll(useRealTime);

  describe.each(routes)('POST $path with a hostile body', ({ path, token, cases }) => {
    it.each(cases)('$name → $expected.0 and nothing stored', async ({ body, headers, expected }) => {
      const r = await call(path, { method: 'POST', body: body(), headers, token: token && tokens[token] });
      expect([r.status, r.body]).toEqual([expected[0], expect.objectContaining({ error: expected[1], message: expect.any(String) })]);
      if (expected[1] === 'validation_failed') {
        expect(r.body.issues).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
      }
      expect(r.headers.get('Cache-Control')).toBe('no-store');
      expect(await snapshot()).toBe(before);
    });
  });
}
