/**
 * Hostile input is a value, never an exception: malformed base64url, JSON, CBOR or oversized
 * fields give { ok: false, reason: 'malformed' } before any expensive work.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64urlNoPadding as b64url } from '@oslojs/encoding';
import { parseAuthenticationResponse, parseRegistrationResponse } from '../../src/webauthn';
import { encodeCbor } from './cbor';
import { SoftwareAuthenticator } from './authenticator';
import { challenge, registered, verifyAssertionJSON, verifyRegistrationJSON } from './support';

const MALFORMED = { ok: false, reason: 'malformed' };

describe('malformed registration responses', () => {
  const cases: Array<[string, (json: Awaited<ReturnType<SoftwareAuthenticator['register']>>) => unknown]> = [
    ['not an object', () => 'hello'],
    ['null', () => null],
    ['no response', (j) => ({ ...j, response: undefined })],
    ['type not public-key', (j) => ({ ...j, type: 'password' })],
    ['id not rawId', (j) => ({ ...j, id: 'AAAA' })],
    ['rawId with a character outside base64url', (j) => ({ ...j, rawId: `${j.rawId}+`, id: `${j.id}+` })],
    ['rawId with non-zero trailing bits', (j) => ({ ...j, rawId: 'AB', id: 'AB' })],
    ['clientDataJSON a number', (j) => ({ ...j, response: { ...j.response, clientDataJSON: 42 } })],
    ['clientDataJSON not base64url', (j) => ({ ...j, response: { ...j.response, clientDataJSON: '!!!!' } })],
    ['clientDataJSON not JSON', (j) => ({ ...j, response: { ...j.response, clientDataJSON: b64url(new TextEncoder().encode('{"type":')) } })],
    ['clientDataJSON not UTF-8', (j) => ({ ...j, response: { ...j.response, clientDataJSON: b64url(Uint8Array.of(0x7b, 0xff, 0x7d)) } })],
    ['clientDataJSON an array', (j) => ({ ...j, response: { ...j.response, clientDataJSON: b64url(new TextEncoder().encode('[]')) } })],
    ['clientDataJSON over 4 KiB', (j) => ({ ...j, response: { ...j.response, clientDataJSON: b64url(new Uint8Array(4097).fill(0x20)) } })],
    ['attestationObject not CBOR', (j) => ({ ...j, response: { ...j.response, attestationObject: b64url(Uint8Array.of(0xff, 0x00)) } })],
    ['attestationObject truncated', (j) => ({ ...j, response: { ...j.response, attestationObject: j.response.attestationObject.slice(0, 40) } })],
    ['attestationObject a CBOR array', (j) => ({ ...j, response: { ...j.response, attestationObject: b64url(encodeCbor([1, 2])) } })],
    ['attestationObject without authData', (j) => ({ ...j, response: { ...j.response, attestationObject: b64url(encodeCbor({ fmt: 'none', attStmt: {} })) } })],
    ['authData too short', (j) => ({ ...j, response: { ...j.response, attestationObject: b64url(encodeCbor({ fmt: 'none', attStmt: {}, authData: new Uint8Array(36) })) } })],
    ['attestationObject over 8 KiB', (j) => ({ ...j, response: { ...j.response, attestationObject: b64url(new Uint8Array(8193)) } })],
    ['transports not an array', (j) => ({ ...j, response: { ...j.response, transports: 'usb' } })],
    ['too many transports', (j) => ({ ...j, response: { ...j.response, transports: Array.from({ length: 9 }, (_, i) => `t${i}`) } })],
    ['a transport that is not a name', (j) => ({ ...j, response: { ...j.response, transports: ['<script>'] } })],
  ];
  for (const [name, mutate] of cases) {
    it(`${name} -> malformed`, async () => {
      const issued = challenge();
      const json = await (await SoftwareAuthenticator.create(-7)).register(issued);
      expect(await verifyRegistrationJSON(mutate(json), issued)).toEqual(MALFORMED);
    });
  }

  it('a challenge that is not base64url, or a clientData member of the wrong type -> malformed', async () => {
    const issued = challenge();
    const authenticator = await SoftwareAuthenticator.create(-7);
    for (const data of [
      { type: 'webauthn.create', challenge: '***', origin: 'https://example.com' },
      { type: 'webauthn.create', challenge: b64url(issued), origin: 7 },
      { type: 'webauthn.create', challenge: b64url(issued), origin: 'https://example.com', crossOrigin: 'false' },
      { type: 1, challenge: b64url(issued), origin: 'https://example.com' },
    ]) {
      const json = await authenticator.register(issued, { clientDataJSON: new TextEncoder().encode(JSON.stringify(data)) });
      expect(await verifyRegistrationJSON(json, issued)).toEqual(MALFORMED);
    }
  });
});

describe('malformed authentication responses', () => {
  it('bad base64url, oversized fields and broken authenticatorData -> malformed', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const j = await authenticator.assert(issued);
    const with_ = (response: Record<string, unknown>) => ({ ...j, response: { ...j.response, ...response } });
    for (const json of [
      with_({ signature: 'a=b' }),
      with_({ signature: b64url(new Uint8Array(1025)) }),
      with_({ authenticatorData: b64url(new Uint8Array(36)) }),
      with_({ authenticatorData: b64url(new Uint8Array(2049)) }),
      with_({ userHandle: b64url(new Uint8Array(65)) }),
      with_({ userHandle: 12 }),
      with_({ clientDataJSON: undefined }),
      { ...j, rawId: b64url(new Uint8Array(1537)), id: b64url(new Uint8Array(1537)) },
    ]) {
      expect(await verifyAssertionJSON(json, stored, issued)).toEqual(MALFORMED);
    }
  });

  it('an ED flag without an extension map -> malformed', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const json = await authenticator.assert(issued, { flags: { ed: true }, trailing: Uint8Array.of(0xa1) });
    expect(await verifyAssertionJSON(json, stored, issued)).toEqual(MALFORMED);
  });

  it('never throws on arbitrary JSON-like input (fuzz)', async () => {
    const { stored } = await registered(-8);
    const issued = challenge();
    const field = fc.oneof(fc.string(), fc.base64String(), fc.uint8Array({ maxLength: 80 }).map(b64url), fc.integer(), fc.constant(null));
    const response = fc.record({ id: field, rawId: field, type: fc.constantFrom('public-key', 'x'), response: fc.record({ clientDataJSON: field, attestationObject: field, authenticatorData: field, signature: field, userHandle: field }) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(response, fc.anything()), async (json) => {
        const registration = await verifyRegistrationJSON(json, issued);
        const assertion = await verifyAssertionJSON(json, stored, issued);
        expect(registration.ok).toBe(false);
        expect(assertion.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes as attestationObject or authenticatorData (fuzz)', async () => {
    const { authenticator, stored } = await registered(-7);
    const issued = challenge();
    const reg = await authenticator.register(issued);
    const asn = await authenticator.assert(issued);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const r = parseRegistrationResponse({ ...reg, response: { ...reg.response, attestationObject: b64url(bytes) } });
        const a = parseAuthenticationResponse({ ...asn, response: { ...asn.response, authenticatorData: b64url(bytes) } });
        expect(r.ok && a.ok).toBe(true);
        expect((await verifyRegistrationJSON({ ...reg, response: { ...reg.response, attestationObject: b64url(bytes) } }, issued)).ok).toBe(false);
        expect((await verifyAssertionJSON({ ...asn, response: { ...asn.response, authenticatorData: b64url(bytes) } }, stored, issued)).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
