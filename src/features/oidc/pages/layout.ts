import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { base64Encode } from '../../../crypto/base64';
import { randomBytes } from '../../../crypto/random';
import { PAGE_STYLES_INTEGRITY, PAGE_STYLES_PATH } from '../../../http/page-assets.generated';
import type { HostedScript } from './scripts.generated';

/**
 * The hosted pages' frame: the account page's stylesheet (one CSS for both,
 * a file of the static assets, public/assets, allowed by the nonce it carries),
 * a strict CSP with `frame-ancestors 'none'` (no clickjacking of the consent
 * button), nothing loaded from elsewhere, and no script but a page's own
 * passkey script (a file of the static assets too, src/features/oidc/client,
 * allowed by its nonce and pinned by its integrity). `form-action` allows this
 * origin and, where a step ends in a redirect back to the client, that
 * client's origin (browsers apply form-action to a form's redirects).
 */
export function contentSecurityPolicy(nonce: string, formTargets: string[]): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src data:',
    `form-action 'self' ${formTargets.join(' ')}`.trim(),
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function newNonce(): string {
  return base64Encode(randomBytes(16));
}

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

/** One page: a heading, an optional refusal in `role="alert"`, the step's content. */
export function page(nonce: string, title: string, body: Markup, alert?: string | null, script?: HostedScript): Markup {
  return html`<!doctype html><html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${title} · edge-mfa</title>
    <link rel="stylesheet" href="${PAGE_STYLES_PATH}" integrity="${PAGE_STYLES_INTEGRITY}" nonce="${nonce}" />
  </head>
  <body>
    <main>
      <h1>${title}</h1>
      ${alert ? html`<p id="error" role="alert">${alert}</p>` : ''}
      ${body}
    </main>
    ${script ? html`<script src="${script.path}" integrity="${script.integrity}" nonce="${nonce}"></script>` : ''}
  </body>
</html>`;
}

/** The hidden fields every step's form carries: the pending request and its CSRF token. */
export function hidden(ticket: string, csrf: string): Markup {
  return html`<input type="hidden" name="ticket" value="${ticket}" /><input type="hidden" name="csrf" value="${csrf}" />`;
}
