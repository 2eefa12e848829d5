import { describe, expect, it } from 'vitest';
import { call } from '../../helpers';

/** The attributes of each tag named `tag` in the page. */
function tags(html: string, tag: string): Array<Record<string, string>> {
  return [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))].map((match) => {
    const attributes: Record<string, string> = {};
    for (const [, name, value] of match[1]!.matchAll(/([a-z-]+)(?:="([^"]*)")?/gi)) attributes[name!.toLowerCase()] = value ?? '';
    return attributes;
  });
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
    // Every script and style carries this response's nonce; there are no other sources.
    const scripts = tags(first.text, 'script');
    const styles = tags(first.text, 'style');
    expect(scripts.length).toBe(1);
    for (const element of [...scripts, ...styles]) expect(element.nonce).toBe(nonce);
    expect(scripts.every((s) => s.src === undefined)).toBe(true);
    const second = await call('/');
    expect(second.headers.get('Content-Security-Policy')).not.toBe(csp);
  });

  it('loads nothing from elsewhere and keeps tokens out of storage', async () => {
    const { text } = await call('/');
    expect(text).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(tags(text, 'link')).toEqual([]);
    expect(text).not.toMatch(/localStorage|sessionStorage|document\.cookie|indexedDB/);
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
    const { text } = await call('/');
    for (const code of ['invalid_credentials', 'weak_password', 'username_taken', 'invalid_code', 'unauthorized', 'mfa_already_enabled', 'no_pending_enrollment', 'mfa_not_enrolled', 'internal']) {
      expect(text, code).toMatch(new RegExp(`\\b${code}:\\s*["'\`]`));
    }
    // The script is minified: either quote.
    expect(text).toMatch(/["']too_many_requests["']/);
    expect(text).toMatch(/get\(["']Retry-After["']\)/);
  });

  it('has the account view and the step-up prompt, hidden until signed in, every field labelled', async () => {
    const { text } = await call('/');
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
    expect(text).toMatch(/["']\/refresh["']/);
    expect(text).toMatch(/["']insufficient_user_authentication["']/);
  });
});
