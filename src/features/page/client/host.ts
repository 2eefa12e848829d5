/**
 * Passkeys need a domain name: WebAuthn refuses an IP address as the relying
 * party (so on http://127.0.0.1:8787, which `wrangler dev --ip 127.0.0.1`
 * prints, every ceremony fails as if cancelled). The page says so up front,
 * with the address to open instead.
 */
import { ui } from './elements';

/** An IPv4 dotted quad or an IPv6 literal (location.hostname keeps its brackets). */
export function isIpAddress(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.includes(':');
}

/** The same page on localhost: http://localhost:PORT/ for a loopback address. */
export function localhostUrl(): string {
  const url = new URL(location.href);
  url.hostname = 'localhost';
  return url.origin + '/';
}

/** Why passkeys cannot work at this address, in a person's words, or null when they can. */
export function passkeyHostProblem(): string | null {
  if (!isIpAddress(location.hostname)) return null;
  const loopback = location.hostname === '127.0.0.1' || location.hostname === '[::1]';
  return (
    'Passkeys do not work at an IP address such as ' +
    location.hostname +
    '. ' +
    (loopback ? 'Open ' + localhostUrl() + ' instead.' : 'Open this page by its domain name instead.')
  );
}

/** Shows the warning at the top of the page, with a link when there is somewhere better to go. */
export function warnAboutHost(): void {
  const problem = passkeyHostProblem();
  if (!problem) return;
  ui.hostWarning.textContent = problem.replace(/ Open .*$/, ' ');
  if (location.hostname === '127.0.0.1' || location.hostname === '[::1]') {
    const link = document.createElement('a');
    link.href = localhostUrl();
    link.textContent = 'Open ' + localhostUrl() + ' instead.';
    ui.hostWarning.append(link);
  } else {
    ui.hostWarning.append('Open this page by its domain name instead.');
  }
  ui.hostWarning.hidden = false;
}
