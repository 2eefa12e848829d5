import { calculateJwkThumbprint } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { etagOf, ifNoneMatchMatches, jwks } from '../../src/tokens/jwks';
import { currentSigningKey, rotateSigningKeys } from '../../src/tokens/signing-keys';
import { clearKeys, DAY, isolate, T0, tokenSettings } from './support';

beforeEach(clearKeys);

describe('the JWKS document', () => {
  it('has public members only: no d, nothing but kty, crv, x, kid, alg, use', async () => {
    // Attack: a JWKS that serialised the stored key row would hand out the private key.
    const db = isolate();
    const settings = await tokenSettings();
    await rotateSigningKeys(db, settings, T0);
    await rotateSigningKeys(db, settings, T0 + 27 * DAY);
    const { document, body } = await jwks(db, T0 + 27 * DAY);
    expect(document.keys).toHaveLength(2);
    for (const key of document.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      // RFC 7638: the kid is the thumbprint of the public members.
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x }));
    }
    expect(body).not.toMatch(/"d"|sealed|v1\./);
    expect(JSON.parse(body)).toEqual(document);
  });

  it('is empty before the first key, and its ETag is the same in every isolate until the key set changes', async () => {
    const settings = await tokenSettings();
    expect((await jwks(isolate(), T0)).document).toEqual({ keys: [] });
    await currentSigningKey(isolate(), settings, T0);
    const a = await jwks(isolate(), T0);
    const b = await jwks(isolate(), T0 + 3600);
    expect(a.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(b.etag).toBe(a.etag);
    await rotateSigningKeys(isolate(), settings, T0 + 27 * DAY);
    expect((await jwks(isolate(), T0 + 27 * DAY)).etag).not.toBe(a.etag);
  });
});

describe('If-None-Match (RFC 9110 §13.1.2)', () => {
  const etag = '"abc"';
  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x",W/"abc" ', true],
    ['*', true],
    [' * ', true],
    ['"abd"', false],
    ['abc', false],
    ['"x", junk', false],
    ['', false],
    [null, false],
    [undefined, false],
  ])('%j matches: %s', (header, matches) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(matches);
  });

  it('compares weakly on our side too, and never matches a tag that is not quoted', async () => {
    expect(ifNoneMatchMatches('"abc"', 'W/"abc"')).toBe(true);
    expect(ifNoneMatchMatches('"abc"', 'abc')).toBe(false);
    expect(await etagOf('{"keys":[]}')).toBe(await etagOf('{"keys":[]}'));
    expect(await etagOf('{"keys":[]}')).not.toBe(await etagOf('{"keys":[ ]}'));
  });
});
