// A browser without a screen for test-e2e/clients.mjs: a cookie jar, redirects
// followed by hand, and the hosted pages' forms read from their HTML and posted
// as a browser posts them (same-origin, with Origin). Every server here is on
// localhost, so cookies are shared across ports, exactly as in a real browser.
// `Secure` cookies are kept for http://localhost, as browsers do.

import { request as httpRequest } from 'node:http';

const decode = (text) =>
  text.replace(/&(#x?[0-9a-f]+|amp|lt|gt|quot|apos|#39);/gi, (_, entity) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(entity[1].toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
  });

const attribute = (tag, name) => {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return match ? decode(match[2] ?? match[3] ?? match[4] ?? '') : undefined;
};

/** The forms of an HTML page: action, method and the named inputs' and buttons' values. */
export function formsOf(html) {
  const forms = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fields = {};
    for (const input of match[2].matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name) fields[name] = attribute(input[0], 'value') ?? '';
    }
    const buttons = [...match[2].matchAll(/<button\b[^>]*>/gi)].map((b) => ({ name: attribute(b[0], 'name'), value: attribute(b[0], 'value') ?? '' }));
    const json = /<script type="application\/json" id="passkey-options">([\s\S]*?)<\/script>/.exec(match[2]);
    forms.push({ action: attribute(match[1], 'action') ?? '', method: (attribute(match[1], 'method') ?? 'get').toLowerCase(), fields, buttons, passkeyOptions: json ? JSON.parse(json[1]) : undefined });
  }
  return forms;
}

export const textOf = (html) => decode(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();

/** A response whose bytes broke HTTP/1.1 (a body followed by more): its status line, headers and first body. */
function malformed(raw) {
  const text = raw.toString('latin1');
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = new Headers();
  for (const line of lines) headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
  headers.set('x-test-malformed', 'true');
  return { status: Number(statusLine.split(' ')[1]) || 0, headers, text: rest.join('\r\n\r\n') };
}

export class Browser {
  /** name + path -> { name, value, path } */
  jar = new Map();
  /** Every URL this browser was sent to, in order. */
  visited = [];
  /** The form actions the hosted pages offered, in order (filled by person.mjs). */
  offered = [];

  cookieHeader(url) {
    const path = new URL(url).pathname;
    return [...this.jar.values()]
      .filter((cookie) => path === cookie.path || path.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  store(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const attrs = Object.fromEntries(attributes.map((a) => a.trim().split('=')).map(([k, ...v]) => [k.toLowerCase(), v.join('=')]));
      const requestPath = new URL(url).pathname;
      const path = attrs.path || requestPath.slice(0, requestPath.lastIndexOf('/')) || '/';
      const expired = attrs['max-age'] !== undefined ? Number(attrs['max-age']) <= 0 : attrs.expires !== undefined && Date.parse(attrs.expires) < Date.now();
      if (expired) this.jar.delete(`${name};${path}`);
      else this.jar.set(`${name};${path}`, { name, value, path });
    }
  }

  /** One request, no redirect followed (node:http: fetch would always say `Sec-Fetch-Mode: cors`). */
  async request(url, { method = 'GET', form, headers = {}, site = 'none' } = {}) {
    this.visited.push(url);
    const cookie = this.cookieHeader(url);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const response = await new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, {
        method,
        agent: false,
        headers: {
          Connection: 'close',
          Accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
          'User-Agent': 'Mozilla/5.0 (edge-mfa test-e2e/clients.mjs)',
          // A top-level navigation, as a browser says it (mod_auth_openidc answers a script 401, not a redirect).
          'Sec-Fetch-Mode': 'navigate',
          'Sec-Fetch-Dest': 'document',
          'Sec-Fetch-Site': site,
          ...(cookie ? { Cookie: cookie } : {}),
          ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), Origin: new URL(url).origin } : {}),
          ...headers,
        },
      }, (incoming) => {
        const chunks = [];
        incoming.on('data', (chunk) => chunks.push(chunk));
        incoming.on('end', () => {
          const responseHeaders = new Headers();
          for (let i = 0; i < incoming.rawHeaders.length; i += 2) responseHeaders.append(incoming.rawHeaders[i], incoming.rawHeaders[i + 1]);
          resolve({ status: incoming.statusCode, headers: responseHeaders, text: Buffer.concat(chunks).toString('utf8') });
        });
        incoming.on('error', reject);
      });
      // mod_auth_openidc writes some error pages and then Apache's own 500 page after them: node's
      // parser refuses the extra bytes where a browser shows the first page. Keep what was sent.
      outgoing.on('error', (error) => (error.rawPacket ? resolve(malformed(error.rawPacket)) : reject(error)));
      outgoing.setTimeout(30_000, () => outgoing.destroy(new Error(`timeout: ${method} ${url}`)));
      outgoing.end(body);
    });
    this.store(url, response);
    return response;
  }

  /** A navigation: the request, then every redirect, to the page that answers. */
  async navigate(url, init = {}) {
    let response = await this.request(url, { site: init.form ? 'same-origin' : 'none', ...init });
    for (let hops = 0; response.status >= 300 && response.status < 400 && response.headers.has('location'); hops += 1) {
      if (hops > 20) throw new Error(`too many redirects from ${url}`);
      const from = new URL(url);
      const to = new URL(response.headers.get('location'), url);
      url = to.href;
      response = await this.request(url, { site: from.origin === to.origin ? 'same-origin' : from.hostname === to.hostname ? 'same-site' : 'cross-site' });
    }
    return { url, status: response.status, headers: response.headers, body: response.text };
  }
}
