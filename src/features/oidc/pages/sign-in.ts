import { html, raw } from 'hono/html';
import { hidden, type Markup } from './layout';

export interface StepContext {
  ticket: string;
  csrf: string;
  clientName: string;
}

/**
 * The password step; `username` autocomplete for password managers (API.md, stable markup).
 * With `passkey` (passwordless sign-in, issue 21) the username field also offers the
 * browser's passkeys (`autocomplete="username webauthn"`, conditional mediation), and
 * "Sign in with a passkey" sits beside the password form, both answered by
 * POST /authorize/passkey-signin with the sign-in options embedded here.
 */
export function signInForm(step: StepContext, signup: boolean, username = '', passkey?: PasskeyOffer | null): Markup {
  return html`<p class="lead">Sign in to continue to <strong>${step.clientName}</strong>.</p>
    <form method="post" action="/authorize/password">
      ${hidden(step.ticket, step.csrf)}
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="${passkey ? 'username webauthn' : 'username'}" required minlength="3" maxlength="64" autocapitalize="none" spellcheck="false" value="${username}" />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256" />
      <button type="submit">Continue</button>
    </form>
    ${passkey
      ? html`<form id="signin-passkey-form" method="post" action="/authorize/passkey-signin">
          ${hidden(step.ticket, step.csrf)}
          <input type="hidden" name="challengeId" value="${passkey.challengeId}" />
          <input type="hidden" name="response" value="" />
          <script type="application/json" id="signin-passkey-options">${raw(passkey.optionsJson.replace(/</g, '\\u003c'))}</script>
          <button type="submit" name="passkey" value="1">Sign in with a passkey</button>
          <p id="signin-passkey-status" role="status" aria-live="polite"></p>
        </form>`
      : ''}
    ${signup ? html`<p>No account yet? <a href="/authorize/signup?ticket=${encodeURIComponent(step.ticket)}">Create one</a>.</p>` : ''}`;
}

/** Sign-up, with /register's rules; then the enrollment step. */
export function signUpForm(step: StepContext, username = ''): Markup {
  return html`<p class="lead">Create an account for <strong>${step.clientName}</strong>. You will set up a second factor next.</p>
    <form method="post" action="/authorize/signup">
      ${hidden(step.ticket, step.csrf)}
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required minlength="3" maxlength="64" autocapitalize="none" spellcheck="false" value="${username}" />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="256" aria-describedby="password-hint" />
      <p id="password-hint" class="hint">8 to 256 characters, not your username.</p>
      <button type="submit">Create account</button>
    </form>`;
}

/** A passkey assertion's options, embedded for the page's script (JSON in a non-executed script element). */
export interface PasskeyOffer {
  challengeId: string;
  optionsJson: string;
}

/** The second factor: a TOTP code, a passkey, or (a form of its own) a recovery code. */
export function secondFactorForms(step: StepContext, hasTotp: boolean, passkey?: PasskeyOffer | null): Markup {
  return html`${passkey
      ? html`<form id="passkey-form" method="post" action="/authorize/passkey">
          ${hidden(step.ticket, step.csrf)}
          <input type="hidden" name="challengeId" value="${passkey.challengeId}" />
          <input type="hidden" name="response" value="" />
          <script type="application/json" id="passkey-options">${raw(passkey.optionsJson.replace(/</g, '\\u003c'))}</script>
          <button type="submit" name="passkey" value="1">Use a passkey</button>
          <p id="passkey-status" role="status" aria-live="polite"></p>
        </form>`
      : ''}${hasTotp
      ? html`<form method="post" action="/authorize/otp">
          ${hidden(step.ticket, step.csrf)}
          <label for="code">Code from your authenticator app</label>
          <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" required maxlength="12" />
          <button type="submit">Verify</button>
        </form>`
      : ''}
    <form method="post" action="/authorize/recovery">
      ${hidden(step.ticket, step.csrf)}
      <label for="recoveryCode">Or a recovery code</label>
      <input id="recoveryCode" name="recoveryCode" autocomplete="off" autocapitalize="characters" spellcheck="false" required maxlength="64" />
      <button type="submit">Use recovery code</button>
    </form>`;
}
