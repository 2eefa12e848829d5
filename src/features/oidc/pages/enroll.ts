import { html } from 'hono/html';
import { hidden, type Markup } from './layout';
import type { StepContext } from './sign-in';

/** Enrollment inside the flow: the QR code, the key as text, and the otpauth:// link a phone opens. */
export function enrollForm(step: StepContext, enrollment: { secret: string; uri: string; qrDataUrl: string }): Markup {
  return html`<p>Your account needs a second factor. Scan this QR code with an authenticator app, type the key by hand, or open the link on your phone.</p>
    <div class="qr-row">
      <img src="${enrollment.qrDataUrl}" alt="QR code with your account's setup key for an authenticator app" width="200" height="200" />
      <div>
        <h2 id="secret-label">Key for manual entry</h2>
        <code aria-labelledby="secret-label">${enrollment.secret}</code>
        <p><a href="${enrollment.uri}">Open in an authenticator app</a></p>
        <p class="hint">Time-based, 6 digits, every 30 seconds.</p>
      </div>
    </div>
    <form method="post" action="/authorize/enroll">
      ${hidden(step.ticket, step.csrf)}
      <label for="code">Code from your authenticator app</label>
      <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" required maxlength="12" />
      <button type="submit">Confirm</button>
    </form>`;
}

/** Shown once, right after the enrollment; the only form continues the flow. */
export function recoveryCodesForm(step: StepContext, codes: string[]): Markup {
  return html`<p>Keep these recovery codes somewhere safe. Each works once, if you lose your authenticator. They are shown only now.</p>
    <ul class="codes">${codes.map((code) => html`<li><code>${code}</code></li>`)}</ul>
    <form method="post" action="/authorize/continue">
      ${hidden(step.ticket, step.csrf)}
      <button type="submit">I have saved them, continue</button>
    </form>`;
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your username',
  offline_access: 'Stay signed in when you are away (a refresh token)',
};

/** Consent for a client that is not first-party; the answer is remembered for this scope set. */
export function consentForm(step: StepContext, scopes: string[]): Markup {
  return html`<p><strong>${step.clientName}</strong> asks to:</p>
    <ul>${scopes.map((scope) => html`<li>${SCOPE_TEXT[scope] ?? scope}</li>`)}</ul>
    <form method="post" action="/authorize/consent">
      ${hidden(step.ticket, step.csrf)}
      <button type="submit" name="decision" value="allow">Allow</button>
      <button type="submit" name="decision" value="deny">Deny</button>
    </form>`;
}

/** The error page of a request that cannot go back to any client (unknown client, unregistered redirect URI). */
export function errorContent(reason: string): Markup {
  return html`<p>${reason}</p><p>Go back to the application and try again; if this keeps happening, tell its owner.</p>`;
}
