/**
 * Checking WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS once, before any ceremony. A pure function:
 * the caller reads the variables and fails loudly with the message.
 */

/** An IPv4 dotted quad, or an IPv6 address (hex digits and colons, bracketed or not). */
function looksLikeIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^\[?[0-9a-f:.]*:[0-9a-f:.]*\]?$/i.test(host);
}

/** WebAuthn L3 §5.1.3 step 8 / §5.1.4.1 step 8: the RP ID is a registrable domain suffix of the origin's host. */
function isHostUnderRpId(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/**
 * Null when the configuration is usable, else a message naming the variable. Rules: the RP
 * ID is a lowercase domain (browsers never accept an IP address, L3 §5.1.3 step 8 and the URL
 * standard's "valid domain"); each origin is a serialized origin (scheme://host[:port], no
 * path) over https, or http on localhost (a secure context); its host is the RP ID or below it.
 */
export function checkWebAuthnConfig(rpId: string, origins: readonly string[]): string | null {
  if (rpId === '') return 'WEBAUTHN_RP_ID is empty';
  if (looksLikeIpAddress(rpId)) return `WEBAUTHN_RP_ID is an IP address (${rpId}); browsers accept only a domain name`;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId) || rpId.length > 253) {
    return `WEBAUTHN_RP_ID is not a lowercase domain name without scheme, port or path (${rpId})`;
  }
  if (origins.length === 0) return 'WEBAUTHN_ORIGINS is empty';
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return `WEBAUTHN_ORIGINS has an entry that is not a URL (${origin})`;
    }
    if (url.origin !== origin) return `WEBAUTHN_ORIGINS entry ${origin} is not a bare origin (expected ${url.origin})`;
    const localhost = url.hostname === 'localhost';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && localhost)) {
      return `WEBAUTHN_ORIGINS entry ${origin} is not https (http is allowed only on localhost)`;
    }
    if (looksLikeIpAddress(url.hostname)) return `WEBAUTHN_ORIGINS entry ${origin} is an IP address; use a domain name`;
    if (!isHostUnderRpId(url.hostname, rpId)) {
      return `WEBAUTHN_ORIGINS entry ${origin} is not on WEBAUTHN_RP_ID (${rpId}) or a subdomain of it`;
    }
  }
  return null;
}
