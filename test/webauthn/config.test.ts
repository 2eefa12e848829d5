import { describe, expect, it } from 'vitest';
import { checkWebAuthnConfig } from '../../src/webauthn';

describe('checkWebAuthnConfig', () => {
  it('accepts a domain with its origin and subdomains, and localhost over http', () => {
    expect(checkWebAuthnConfig('example.com', ['https://example.com', 'https://login.example.com', 'https://example.com:8443'])).toBeNull();
    expect(checkWebAuthnConfig('localhost', ['http://localhost:8787'])).toBeNull();
  });

  const refused: Array<[string, string, string[], RegExp]> = [
    ['an empty RP ID', '', ['https://example.com'], /WEBAUTHN_RP_ID is empty/],
    ['an IPv4 RP ID', '192.168.1.10', ['https://192.168.1.10'], /WEBAUTHN_RP_ID is an IP address/],
    ['an IPv6 RP ID', '::1', ['http://[::1]:8787'], /WEBAUTHN_RP_ID is an IP address/],
    ['an RP ID with a scheme', 'https://example.com', ['https://example.com'], /WEBAUTHN_RP_ID is not a lowercase domain/],
    ['an RP ID with uppercase', 'Example.com', ['https://example.com'], /WEBAUTHN_RP_ID is not a lowercase domain/],
    ['no origins', 'example.com', [], /WEBAUTHN_ORIGINS is empty/],
    ['an origin that is not a URL', 'example.com', ['example.com'], /WEBAUTHN_ORIGINS has an entry that is not a URL/],
    ['an origin with a path', 'example.com', ['https://example.com/login'], /not a bare origin/],
    ['an origin with a trailing slash', 'example.com', ['https://example.com/'], /not a bare origin/],
    ['http on a real domain', 'example.com', ['http://example.com'], /not https/],
    ['an IP origin', 'localhost', ['http://127.0.0.1:8787'], /not https|IP address/],
    ['an origin on another domain', 'example.com', ['https://example.org'], /not on WEBAUTHN_RP_ID/],
    ['an origin that only ends with the RP ID', 'example.com', ['https://badexample.com'], /not on WEBAUTHN_RP_ID/],
    ['a parent domain of the RP ID', 'login.example.com', ['https://example.com'], /not on WEBAUTHN_RP_ID/],
  ];
  for (const [name, rpId, origins, message] of refused) {
    it(`refuses ${name}`, () => {
      expect(checkWebAuthnConfig(rpId, origins)).toMatch(message);
    });
  }
});
