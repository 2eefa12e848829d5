import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setNow, uniqueName, useRealTime } from '../../helpers';
import { admin, Browser, enrolled, form, ISSUER, REDIRECT, registerClient, send, T0, type Client, type Enrolled } from './support';
import {
  authorization,
  callback,
  completeSignIn,
  exchange,
  expectAuthorizationError,
  expectErrorPage,
  expectTokenResponse,
  expectUserinfo,
  happyFlow,
  verifyIdToken,
  workerEnv,
} from './conformance-support';

/**
 * The OpenID conformance suite's Basic OP plan, redirect URIs and request
 * objects (one test per module, named after it; docs/openid-provider.md,
 * "Conformance"), with the redirect-URI modules of the suite's full OIDCC
 * plan: a registered query is kept, any other URI is our error page.
 */

afterEach(useRealTime);

let client: Client;
let user: Enrolled;
let clock = T0;
const next = () => (clock += 30);

beforeAll(async () => {
  setNow(T0);
  user = await enrolled(workerEnv, T0, uniqueName('cr'));
  client = await registerClient(workerEnv, { firstParty: true });
  useRealTime();
}, 60_000);

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
/** SerializeRequestObjectWithNullAlgorithm: an unsigned request object. */
const unsignedJwt = (claims: Record<string, unknown>) => `${b64url({ alg: 'none' })}.${b64url(claims)}.`;

/**
 * BuildRequestObjectBy{Value,Reference}RedirectToAuthorizationEndpoint: the
 * request in the object, with response_type, client_id, scope and
 * redirect_uri repeated outside (OIDC Core §6.1); state and nonce only inside.
 */
async function requestObjectPath(param: 'request' | 'request_uri', outerRedirectUri = REDIRECT) {
  const { params } = await authorization(client);
  const value = param === 'request' ? unsignedJwt({ ...params, iss: client.clientId, aud: ISSUER }) : 'https://rp.example/requests/1#abc';
  return `/authorize?${form({ [param]: value, response_type: 'code', client_id: client.clientId, scope: 'openid', redirect_uri: outerRedirectUri })}`;
}

describe('Basic OP: redirect URIs and the POST form', () => {
  it('oidcc-ensure-registered-redirect-uri', async () => {
    const request = await authorization(client, { redirect_uri: `${REDIRECT}${crypto.randomUUID().slice(0, 8)}` });
    expectErrorPage(await send(workerEnv, request.path));
  });

  it('oidcc-ensure-post-request-succeeds', async () => {
    const request = await authorization(client);
    const at = next();
    setNow(at);
    const browser = new Browser(workerEnv);
    const body: Record<string, string> = Object.fromEntries(Object.entries(request.params).filter((entry): entry is [string, string] => entry[1] !== undefined));
    // The suite's browser POSTs the request from its own origin.
    const page = await browser.post('/authorize', body, { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://conformance.test' });
    expect(page.status).toBe(200);
    const back = callback(await completeSignIn(browser, page, user, at));
    expect(back.state).toBe(request.params.state);
    const tokens = expectTokenResponse(await exchange(client, back.code!, request.verifier));
    await verifyIdToken(tokens.id_token, client, { nonce: request.params.nonce });
  });
});

describe('Basic OP: request objects and the claims parameter', () => {
  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', async () => {
    // Rejected as unsupported (OIDC Core §3.1.2.6), at the redirect URI once it is known good; discovery says so.
    expect((await send(workerEnv, '/.well-known/openid-configuration')).json.request_parameter_supported).toBe(false);
    const params = expectAuthorizationError(await send(workerEnv, await requestObjectPath('request')), ['request_not_supported'], undefined);
    expect(params.error).toBe('request_not_supported');
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', async () => {
    expect((await send(workerEnv, '/.well-known/openid-configuration')).json.request_uri_parameter_supported).toBe(false);
    const params = expectAuthorizationError(await send(workerEnv, await requestObjectPath('request_uri')), ['request_uri_not_supported'], undefined);
    expect(params.error).toBe('request_uri_not_supported');
  });

  it('oidcc-ensure-request-object-with-redirect-uri', async () => {
    // The object names the registered URI, the query an unregistered one: our error page (the module accepts it), never a
    // redirect to either (EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri).
    expectErrorPage(await send(workerEnv, await requestObjectPath('request', `${REDIRECT}_invalid`)));
  });

  it('oidcc-claims-essential', async () => {
    // The claims parameter is optional (OIDC Core §5.5) and not supported here (discovery says so): it is ignored, the
    // request succeeds. We hold no name claim, so UserInfo has none (the module's warning).
    expect((await send(workerEnv, '/.well-known/openid-configuration')).json.claims_parameter_supported).toBe(false);
    const { tokens, idToken } = await happyFlow(client, user, next(), { claims: JSON.stringify({ userinfo: { name: { essential: true } } }) });
    expect(await expectUserinfo(tokens.access_token, idToken.sub!)).toEqual({ sub: idToken.sub });
    expect(idToken).not.toHaveProperty('name');
  });
});

describe('OIDCC plan: redirect URIs', () => {
  it('oidcc-ensure-redirect-uri-in-authorization-request', async () => {
    // Two registered URIs and none in the request: our error page (redirect_uri is required, OIDC Core §3.1.2.1).
    const two = await registerClient(workerEnv, { firstParty: true, redirectUris: [REDIRECT, 'https://rp.example/cb2'] });
    const one = await registerClient(workerEnv, { firstParty: true });
    for (const which of [two, one]) expectErrorPage(await send(workerEnv, (await authorization(which, { redirect_uri: undefined })).path));
  });

  it('oidcc-redirect-uri-query-OK', async () => {
    // RFC 6749 §3.1.2: the registered query is kept, byte for byte, with code, state and iss added after it.
    for (const registered of ['https://rp.example/cb?bar=foo', 'https://rp.example/cb?x=a%20b~&flag']) {
      const withQuery = await registerClient(workerEnv, { firstParty: true, redirectUris: [registered] });
      const request = await authorization(withQuery, { redirect_uri: registered });
      const at = next();
      setNow(at);
      const browser = new Browser(workerEnv);
      const answer = await completeSignIn(browser, await browser.get(request.path), user, at);
      const back = callback(answer, registered);
      expect(answer.location!.startsWith(`${registered}&code=`)).toBe(true);
      expect(back.state).toBe(request.params.state);
      expectTokenResponse(await exchange(withQuery, back.code!, request.verifier, 'basic', registered));
      // Errors keep it too.
      const refused = await authorization(withQuery, { redirect_uri: registered, prompt: 'none' });
      const error = await new Browser(workerEnv).get(refused.path);
      expect(error.location!.startsWith(`${registered}&error=login_required`)).toBe(true);
      expect(callback(error, registered)).toMatchObject({ error: 'login_required', state: refused.params.state });
    }
  });

  it('oidcc-redirect-uri-query-added', async () => {
    expectErrorPage(await send(workerEnv, (await authorization(client, { redirect_uri: `${REDIRECT}?bar=foo` })).path));
  });

  it('oidcc-redirect-uri-query-mismatch', async () => {
    const withQuery = await registerClient(workerEnv, { firstParty: true, redirectUris: [`${REDIRECT}?bar=foo`] });
    for (const presented of [`${REDIRECT}?bar=baz`, `${REDIRECT}?bar=foo&bar=foo`, REDIRECT]) {
      expectErrorPage(await send(workerEnv, (await authorization(withQuery, { redirect_uri: presented })).path));
    }
  });

  it('oidcc-redirect-uri-regfrag', async () => {
    const refused = await admin(workerEnv, '/admin/clients', { json: { name: 'Fragment', redirectUris: [`${REDIRECT}#frag`], type: 'confidential' } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('validation_failed');
  });
});
