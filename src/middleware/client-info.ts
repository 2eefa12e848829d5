import type { Context } from 'hono';
import type { ClientInfo } from '../auth/sessions';

/** Longer user agents are cut: it is shown to the person, never trusted. */
const USER_AGENT_MAX_CHARS = 256;

/**
 * The client's address reduced to its network, /24 for IPv4 and /48 for IPv6
 * (API.md GET /sessions): enough for "was this me?", not a precise location.
 * Anything that does not parse as an address is dropped.
 */
export function truncateIp(ip: string | undefined): string | null {
  if (!ip || ip.length > 45) return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return v4.slice(1).every((part) => Number(part) <= 255) ? `${v4[1]}.${v4[2]}.${v4[3]}.0/24` : null;
  const groups = ipv6Groups(ip);
  return groups ? `${groups.slice(0, 3).map((group) => group.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/48` : null;
}

/** The eight groups of an IPv6 address in RFC 4291 §2.2 text form (`::` expanded), or null. */
function ipv6Groups(ip: string): string[] | null {
  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (text: string) => (text === '' ? [] : text.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group)) ? groups : null;
}

/** Where a session or an event comes from: Cloudflare's client address and the user agent. */
export function clientInfo(c: Context): ClientInfo {
  const userAgent = c.req.header('User-Agent');
  return {
    userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX_CHARS) : null,
    ip: truncateIp(c.req.header('CF-Connecting-IP')),
  };
}
