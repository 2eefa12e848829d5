import { describe, expect, it } from 'vitest';
import { call, staticAsset } from '../../helpers';

/** The attributes of each tag named `tag` in the page. */
function tags(html: string, tag: string): Array<Record<string, string>> {
  return [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))].map((match) => {
    const attributes: Record<string, string> = {};
    for (const [, name, value] of match[1]!.matchAll(/([a-z-]+)(?:="([^"]*)")?/gi)) attributes[name!.toLowerCase()] = value ?? '';
    return attributes;
  });
}

/** The page and its script (a file of the static assets, named by the page's one <script src>). */
async function pageAndScript(): Promise<{ text: string; script: string }> {
  const { text } = await call('/');
  const src = tags(text, 'script')[0]!.src!;
  return { text, script: (await staticAsset(src)).text };
}

describe('GET / (the enrollment page)', () => {
  it('is HTML served by the Worker, never cached, under a strict CSP with a fresh nonce', async () => {
    const first = await call('/');
    expect(first.status).toBe(200);
    expect(first.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    expect(first.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(first.text).toMatch(/^<!doctype html><html lang="en">/);
    const csp = first.headers.get('Content-Security-Policy') ?? '';
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    // Every script and stylesheet carries this response's nonce; there are no other sources.
    // The script and the stylesheet are files of this origin's static assets (next test), not inline.
    const scripts = tags(first.text, 'script');
    const stylesheets = tags(first.text, 'link').filter((link) => link.rel === 'stylesheet');
    expect(scripts.length).toBe(1);
    expect(stylesheets.length).toBe(1);
    expect(tags(first.text, 'style')).toEqual([]);
    for (const element of [...scripts, ...stylesheets]) expect(element.nonce).toBe(nonce);
    expect(scripts[0]!.src).toMatch(/^\/assets\/page\.[0-9a-f]{16}\.js$/);
    expect(stylesheets[0]!.href).toMatch(/^\/assets\/page\.[0-9a-f]{16}\.css$/);
    const second = await call('/');
    expect(second.headers.get('Content-Security-Policy')).not.toBe(csp);
  });

  it('serves its script and stylesheet from the static assets, each as its integrity attribute says, never sniffed', async () => {
    const { text } = await call('/');
    const script = tags(text, 'script')[0]!;
    const stylesheet = tags(text, 'link').find((link) => link.rel === 'stylesheet')!;
    for (const [element, path, type] of [
      [script, script.src!, /^(text|application)\/javascript/],
      [stylesheet, stylesheet.href!, /^text\/css/],
    ] as const) {
      const asset = await staticAsset(path);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('Content-Type'), path).toMatch(type);
      expect(asset.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
      // A content-hashed name: a new build is a new name, so the file may be cached for good.
      expect(asset.headers.get('Cache-Control'), path).toContain('immutable');
      // A browser refuses the file if these differ (Subresource Integrity).
      const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-384', asset.bytes))));
      expect(element.integrity, path).toBe(`sha384-${digest}`);
    }
  });

  it('loads nothing from elsewhere and keeps tokens out of storage', async () => {
    const { text, script } = await pageAndScript();
    expect(text).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(tags(text, 'link').map((link) => link.rel)).toEqual(['stylesheet']);
    expect(text + script).not.toMatch(/localStorage|sessionStorage|document\.cookie|indexedDB/);
    // No inline event handlers: they would need 'unsafe-inline'.
    expect(text).not.toMatch(/\son[a-z]+="/i);
  });

  it('labels every field, and the code field is a one-time code with a numeric keyboard', async () => {
    const { text } = await call('/');
    const labels = new Set(tags(text, 'label').map((label) => label.for));
    const inputs = tags(text, 'input');
    // The sign-in steps' fields come first; the account view's and the step-up dialog's follow (own test below).
    // Issue 23: logging in and creating an account are two forms, so Enter submits the one being typed in.
    expect(inputs.map((input) => input.id).slice(0, 6)).toEqual(['username', 'password', 'register-username', 'register-password', 'code', 'recovery-code']);
    expect(inputs.find((input) => input.id === 'register-password')!).toMatchObject({ type: 'password', autocomplete: 'new-password' });
    expect(inputs.map((input) => input.id)).toContain('passkey-name');
    for (const input of inputs) expect(labels, `label for #${input.id}`).toContain(input.id);
    const code = inputs.find((input) => input.id === 'code')!;
    expect(code).toMatchObject({ autocomplete: 'one-time-code', inputmode: 'numeric' });
    expect(inputs.find((input) => input.id === 'username')!.autocomplete).toBe('username webauthn');
    expect(inputs.find((input) => input.id === 'password')!).toMatchObject({ type: 'password', autocomplete: 'current-password' });
    // Native buttons and forms only (keyboard-usable); messages in live regions.
    expect(text).toContain('role="alert"');
    expect(text).toContain('role="status"');
    for (const form of tags(text, 'form')) expect(form.method).toBe('post');
  });

  it('gives every form its own alert and status line, so a message appears beside its action (issue 23, WCAG 3.3.1, 4.1.3)', async () => {
    const { text } = await call('/');
    const forms = [...text.matchAll(/<form\b[^>]*id="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    expect(forms.map((form) => form[1])).toEqual(expect.arrayContaining(['login-form', 'register-form', 'code-form', 'recovery-form', 'add-passkey-form', 'password-form', 'delete-form']));
    for (const [, id, body] of forms) {
      if (id === 'step-up-form') continue; // The dialog has its own alert above the form.
      expect(body, id).toContain('<p class="form-error" role="alert" hidden></p>');
      expect(body, id).toContain('<p class="form-status" role="status" tabindex="-1"></p>');
    }
    // No page-wide error region at the top any more.
    expect(text).not.toContain('id="error"');
    // The registration hint names every rule, the common-password one included.
    expect(text).toMatch(/id="register-password-hint"[^>]*>[^<]*commonly used password/);
  });

  it('has a message for every error code a person can meet', async () => {
    const { script } = await pageAndScript();
    for (const code of ['invalid_credentials', 'weak_password', 'username_taken', 'invalid_code', 'unauthorized', 'mfa_already_enabled', 'no_pending_enrollment', 'mfa_not_enrolled', 'internal']) {
      expect(script, code).toMatch(new RegExp(`\\b${code}:\\s*["'\`]`));
    }
    // The script is minified: either quote.
    expect(script).toMatch(/["']too_many_requests["']/);
    expect(script).toMatch(/get\(["']Retry-After["']\)/);
  });

  it('has the account view and the step-up prompt, hidden until signed in, every field labelled', async () => {
    const { text, script } = await pageAndScript();
    const byId = new Map([...tags(text, 'div'), ...tags(text, 'section'), ...tags(text, 'dialog'), ...tags(text, 'input')].map((element) => [element.id, element]));
    expect(byId.get('account-view')).toHaveProperty('hidden');
    for (const id of ['account-activity', 'account-password', 'account-delete']) expect(byId.get(id), id).toHaveProperty('hidden');
    expect(byId.get('step-up')).not.toHaveProperty('open');
    const labels = new Set(tags(text, 'label').map((label) => label.for));
    for (const id of ['current-password', 'new-password', 'delete-password', 'delete-confirm', 'step-up-code', 'step-up-recovery-code']) expect(labels, `label for #${id}`).toContain(id);
    expect(byId.get('current-password')).toMatchObject({ type: 'password', autocomplete: 'current-password' });
    expect(byId.get('new-password')).toMatchObject({ type: 'password', autocomplete: 'new-password' });
    expect(byId.get('step-up-code')).toMatchObject({ autocomplete: 'one-time-code', inputmode: 'numeric' });
    for (const id of ['sessions-list', 'sessions-reload', 'logout-others', 'events-list', 'events-more', 'password-form', 'delete-form', 'step-up-form', 'step-up-cancel']) expect(text, id).toContain(`id="${id}"`);
    // A passkey can answer the step-up (issue 23): a native button, shown when the account has one.
    expect(text).toMatch(/<div id="step-up-passkey-option" hidden>\s*<button id="step-up-passkey" type="button">Use a passkey<\/button>/);
    // The script renews the access token and reads the refresh token from responses, and keeps both in memory.
    expect(script).toMatch(/["']\/refresh["']/);
    expect(script).toMatch(/["']insufficient_user_authentication["']/);
  });
});
