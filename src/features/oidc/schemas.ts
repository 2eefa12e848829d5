import * as z from 'zod';

/**
 * The support API's client fields (API.md, "Issuer and clients"). A redirect
 * URI is absolute, in the form a browser would write it back (so an exact
 * comparison means what it says), without userinfo or fragment, and https
 * or http on a loopback host.
 */
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

function isRedirectUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const scheme = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.includes(url.hostname));
  return scheme && url.href === value && !url.username && !url.password && !url.hash && !value.includes('#');
}

const redirectUri = z
  .string()
  .max(2000)
  .refine(isRedirectUri, 'must be an absolute https URI (http only on localhost, 127.0.0.1 or [::1]) in canonical form, without userinfo or fragment');
const uriList = z.array(redirectUri).max(20);

/**
 * The parameters /authorize appends to a redirect URI's registered query
 * (authorize.ts, redirectBack). A registered query naming one would send it
 * twice, the registered value first (RFC 6749 §3.1: never more than once).
 */
const RESPONSE_PARAMS = new Set(['code', 'state', 'iss', 'error', 'error_description', 'error_uri']);
function namesNoResponseParam(value: string): boolean {
  // Runs after a failed isRedirectUri too (a refinement does not stop the next): an unparsable URI is that one's failure.
  try {
    return ![...new URL(value).searchParams.keys()].some((key) => RESPONSE_PARAMS.has(key));
  } catch {
    return true;
  }
}
const clientRedirectUri = redirectUri.refine(namesNoResponseParam, 'must not name code, state, iss, error, error_description or error_uri in its query (the response adds them)');
const redirectUriList = z.array(clientRedirectUri).max(20);

/**
 * Where the provider itself POSTs (back-channel logout): a request from our
 * side, so stricter than a redirect URI a browser follows. https on a DNS
 * name: no IP literal, no userinfo, no fragment, canonical form. A loopback
 * host (localhost, 127.0.0.1, [::1], http or https) only in a local run
 * (ENVIRONMENT = "development"); the schema accepts that form and
 * backchannelUriProblem refuses it elsewhere, where the settings are known.
 */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/**
 * Names only a private resolver answers: RFC 6762 .local, RFC 8375 .home.arpa,
 * .internal (ICANN's private-use TLD; cloud metadata), and the undelegated
 * names networks use inside. Workers resolve publicly, but a self-hosted
 * workerd or `wrangler dev` resolves with the host's resolver.
 */
const INTERNAL_SUFFIXES = ['local', 'internal', 'home.arpa', 'localdomain', 'lan', 'corp'];

/** Given the hostname without the trailing dots of its fully qualified form ("localhost." is localhost to a resolver). */
function loopbackHost(hostname: string): boolean {
  return LOOPBACK.includes(hostname) || hostname.endsWith('.localhost');
}

/** A single label (no dot: a search-domain name), or under a private-use name. */
function internalName(hostname: string): boolean {
  return !hostname.includes('.') || INTERNAL_SUFFIXES.some((suffix) => hostname === suffix || hostname.endsWith(`.${suffix}`));
}

export function backchannelUriProblem(value: string, development: boolean): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (url.href !== value || url.username || url.password || url.hash || value.includes('#')) return 'must be in canonical form, without userinfo or fragment';
  const host = url.hostname.replace(/\.+$/, '');
  if (loopbackHost(host)) {
    if (!development) return 'names a loopback host, allowed only in a local run (ENVIRONMENT = "development")';
    return url.protocol === 'https:' || url.protocol === 'http:' ? null : 'must be https (or http on a loopback host in a local run)';
  }
  if (url.protocol !== 'https:') return 'must be https';
  if (IPV4.test(url.hostname) || url.hostname.startsWith('[')) return 'must name a host, not an IP address';
  if (internalName(host)) return 'must be a public DNS name (not a single label, .local, .internal or another private-use name)';
  return null;
}

const backchannelUri = z
  .string()
  .max(2000)
  .refine((value) => backchannelUriProblem(value, true) === null, 'must be an https URI on a DNS name (no IP address), in canonical form, without userinfo or fragment; http://localhost only in a local run');
const name = z.string().trim().min(1).max(100);
const alg = z.enum(['RS256', 'EdDSA']);

export const clientCreateBody = z.object({
  name,
  redirectUris: redirectUriList.min(1),
  postLogoutRedirectUris: uriList.optional(),
  type: z.enum(['confidential', 'public']),
  firstParty: z.boolean().optional(),
  idTokenSignedResponseAlg: alg.optional(),
  backchannelLogoutUri: backchannelUri.nullable().optional(),
});

export const clientPatchBody = z.object({
  name: name.optional(),
  redirectUris: redirectUriList.min(1).optional(),
  postLogoutRedirectUris: uriList.optional(),
  firstParty: z.boolean().optional(),
  idTokenSignedResponseAlg: alg.optional(),
  backchannelLogoutUri: backchannelUri.nullable().optional(),
});

export const clientIdParams = z.object({ id: z.string().min(1).max(64) });

export const clientResponse = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(['confidential', 'public']),
  firstParty: z.boolean(),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  idTokenSignedResponseAlg: alg,
  backchannelLogoutUri: z.string().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});

export const clientCreatedResponse = clientResponse.extend({ clientSecret: z.string().optional() });
export const clientListResponse = z.object({ clients: z.array(clientResponse) });
export const clientSecretResponse = z.object({ clientSecret: z.string() });

export type ClientCreate = z.infer<typeof clientCreateBody>;
export type ClientPatch = z.infer<typeof clientPatchBody>;
