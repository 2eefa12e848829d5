import type { Context } from 'hono';
import type { ClientInfo } from '../../core/sessions/store';

/** A User-Agent is only shown back to its owner; longer ones are cut, not stored whole. */
export const USER_AGENT_MAX_CHARS = 256;

/**
 * The network a client came from, not the client: IPv4 to its /24, IPv6 to its
 * /48 (the usual end-site prefix, RFC 6177), so the log shows "where" without
 * pinning a household. Anything that is not an IP address gives null.
 */
export function truncateIp(raw: string | null | undefined): string | null {
  const text = (raw ?? '').trim();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const octets = v4.slice(1, 4).map(Number);
    if (octets.some((octet) => octet > 255) || Number(v4[4]) > 255) return null;
    return `${octets.join('.')}.0/24`;
  }
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text) || !text.includes(':')) return null;
  const [head = '', tail] = text.split('::');
  if (text.split('::').length > 2) return null;
  const first = head === '' ? [] : head.split(':');
  const last = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
  const groupCount = [...first, ...last].reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0);
  if (tail === undefined ? groupCount !== 8 : groupCount > 7) return null;
  const groups = [...first, ...Array(Math.max(0, 8 - groupCount)).fill('0'), ...last].slice(0, 3);
  if (groups.some((group) => !/^[0-9A-Fa-f]{1,4}$/.test(group))) return null;
  return `${groups.map((group) => parseInt(group, 16).toString(16)).join(':')}::/48`;
}

/** Control characters are dropped so a log line or a page never carries them. */
function boundedUserAgent(raw: string | undefined): string | null {
  const cleaned = (raw ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, USER_AGENT_MAX_CHARS);
  return cleaned.length > 0 ? cleaned : null;
}

/** Where a request came from: Cloudflare's CF-Connecting-IP (set by the edge, not the client) and the User-Agent. */
export function clientInfo(c: Context): ClientInfo {
  return { ip: truncateIp(c.req.header('CF-Connecting-IP')), userAgent: boundedUserAgent(c.req.header('User-Agent')) };
}
