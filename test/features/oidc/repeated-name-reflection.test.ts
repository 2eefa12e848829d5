import { beforeAll, describe, expect, it } from 'vitest';
import { registerClient, send, type Client } from './support';
import { authorization, ERROR_DESCRIPTION, expectAuthorizationError, workerEnv } from './conformance-support';

/**
 * Reflection through a repeated parameter's name. A parameter sent twice is
 * invalid_request, redirected to the client with an error_description. When
 * that description quoted the name, whoever crafted the link chose 40
 * characters the client's own callback page then received from a trusted
 * redirect: markup for a client that shows error_description as HTML
 * (`<img src=x onerror=alert(1)>` fits), or a phishing line for one that
 * shows it as text. RFC 6749 §4.1.2.1 also allows error_description only
 * %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash, no control or
 * non-ASCII character). A name is quoted only when it is a plain one.
 */

let client: Client;

beforeAll(async () => {
  client = await registerClient(workerEnv);
});

describe('a repeated parameter at /authorize', () => {
  it('never puts a chosen name into error_description: markup, quotes, line breaks and non-ASCII stay out', async () => {
    for (const name of ['<img src=x onerror=alert(1)>', 'Your account is locked. Call +1 555 0100', '"\\', 'a\r\nb', 'naïve']) {
      const request = await authorization(client);
      const path = `${request.path}&${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`;
      const params = expectAuthorizationError(await send(workerEnv, path), ['invalid_request'], request.params.state);
      expect(params.error_description, name).toMatch(ERROR_DESCRIPTION);
      expect(params.error_description, name).not.toContain(name);
      expect(params.error_description, name).not.toMatch(/[<>]/);
    }
  });

  it('a plain parameter name is still named', async () => {
    const request = await authorization(client);
    const params = expectAuthorizationError(await send(workerEnv, `${request.path}&scope=openid`), ['invalid_request'], request.params.state);
    expect(params.error_description).toBe('scope is repeated.');
  });
});
