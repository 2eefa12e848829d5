import { html } from 'hono/html';
import { base64Encode } from '../../crypto/base64';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { PAGE_SCRIPT_INTEGRITY, PAGE_SCRIPT_PATH, PAGE_STYLES_INTEGRITY, PAGE_STYLES_PATH } from '../../http/page-assets.generated';

/**
 * Only this page's own nonce-bearing script and stylesheet load (a nonce
 * allows the element that carries it, inline or not; the two files come from
 * this origin's static assets, public/assets, pinned by their Subresource
 * Integrity); it talks only to this origin, loads images only from data: URLs
 * (the QR code), cannot be framed, and its forms cannot submit anywhere (the
 * script sends JSON).
 */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src data:',
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * A form's (or section's) own message lines, right after its controls: the
 * error as an alert, a confirmation as a status the script may focus. So each
 * message appears next to the action it answers (WCAG 2.2 3.3.1, 4.1.3), not
 * in one region at the top of a long page. view.ts finds them by class.
 */
const messages = html`<p class="form-error" role="alert" hidden></p><p class="form-status" role="status" tabindex="-1"></p>`;

/**
 * The page as one template: hono/html escapes every interpolated value. Its
 * script and stylesheet are files of the Worker's static assets, built by
 * scripts/build-page.mjs, so they are not in the Worker's bundle (the bundle
 * budget, scripts/check-bundle.mjs). (A template rather than
 * JSX: hono/jsx would add about 3 KiB gzipped to the Worker for one page.)
 * Forms use method=post so that, even without the script, a password never
 * lands in a URL. The account view is src/features/page/client/account.ts; the step-up
 * prompt (src/features/page/client/stepup.ts) is a modal dialog, so focus stays in it
 * and Escape cancels.
 */
function pageHtml(nonce: string) {
  return html`<!doctype html><html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Two-step sign-in · edge-mfa</title>
    <link rel="stylesheet" href="${PAGE_STYLES_PATH}" integrity="${PAGE_STYLES_INTEGRITY}" nonce="${nonce}" />
  </head>
  <body>
    <main>
      <h1>Two-step sign-in</h1>
      <p class="lead">Create an account, then protect it with an authenticator app or a passkey.</p>
      <noscript>
        <p>This page needs JavaScript. The API is described at <a href="/openapi.json">/openapi.json</a>.</p>
      </noscript>
      <p id="status" class="visually-hidden" role="status" aria-live="polite"></p>
      <p id="host-warning" class="warning" hidden></p>

      <section id="step-account" aria-labelledby="h-account">
        <h2 id="h-account" tabindex="-1">Your account</h2>
        <form id="login-form" method="post" action="#" aria-labelledby="h-login">
          <h3 id="h-login">Log in</h3>
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username webauthn" required minlength="3" maxlength="64" autocapitalize="none" spellcheck="false" />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256" />
          <button id="login-button" type="submit">Log in</button>
          ${messages}
        </form>
        <form id="register-form" method="post" action="#" aria-labelledby="h-register">
          <h3 id="h-register">New here? Create an account</h3>
          <label for="register-username">Choose a username</label>
          <input id="register-username" name="username" autocomplete="username" required minlength="3" maxlength="64" autocapitalize="none" spellcheck="false" aria-describedby="register-username-hint" />
          <p id="register-username-hint" class="hint">3 to 64 characters.</p>
          <label for="register-password">Choose a password</label>
          <input id="register-password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="256" aria-describedby="register-password-hint" />
          <p id="register-password-hint" class="hint">8 to 256 characters, not your username, and not a commonly used password such as “password123”.</p>
          <button id="register-button" type="submit">Create account and sign in</button>
          ${messages}
        </form>
        <form id="signin-passkey-form" method="post" action="#" hidden>
          <p>Or, with a passkey that asks for your device's PIN or fingerprint, no username or password is needed.</p>
          <button type="submit">Sign in with a passkey</button>
          ${messages}
        </form>
      </section>

      <section id="step-enroll" aria-labelledby="h-enroll" hidden>
        <h2 id="h-enroll" tabindex="-1">Set up your authenticator app</h2>
        <p>Scan this QR code with an authenticator app, or type the key beside it by hand. On this phone? <a id="otpauth-link" href="#" hidden>Open the setup in your authenticator app</a></p>
        <div class="qr-row">
          <img id="qr" alt="QR code with your account's setup key for an authenticator app" width="200" height="200" />
          <div>
            <h3 id="secret-label">Key for manual entry</h3>
            <code id="secret" aria-labelledby="secret-label"></code>
            <p class="hint">Time-based, 6 digits, every 30 seconds.</p>
            <button id="copy-secret" type="button" class="copy">Copy the key</button>
            <p id="copy-secret-status" class="form-status" role="status" tabindex="-1"></p>
          </div>
        </div>
        <form id="enroll-passkey-form" method="post" action="#">
          <p>Or use a passkey instead of an app: your device's screen lock or a security key.</p>
          <button type="submit">Add a passkey</button>
          ${messages}
        </form>
      </section>

      <section id="step-code" aria-labelledby="h-code" hidden>
        <h2 id="h-code" tabindex="-1">Enter your code</h2>
        <p id="code-intro">Type the 6-digit code your authenticator app shows for this account.</p>
        <form id="code-form" method="post" action="#">
          <label for="code">6-digit code</label>
          <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" required aria-describedby="code-hint" />
          <p id="code-hint" class="hint">A new code appears every 30 seconds; each works once.</p>
          <button type="submit">Verify</button>
          ${messages}
        </form>
        <form id="passkey-form" method="post" action="#" hidden>
          <button type="submit">Use a passkey</button>
          ${messages}
        </form>
        <details id="recovery-option">
          <summary>Lost your phone? Use a recovery code</summary>
          <form id="recovery-form" method="post" action="#">
            <label for="recovery-code">Recovery code</label>
            <input id="recovery-code" name="recoveryCode" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="64" required />
            <button type="submit">Use recovery code</button>
            ${messages}
          </form>
        </details>
      </section>

      <section id="step-done" aria-labelledby="h-done" hidden>
        <h2 id="h-done" tabindex="-1">You are signed in with two factors</h2>
        <div id="recovery" hidden>
          <h3>Your recovery codes</h3>
          <p>Save these now: they are shown only this once. Each one signs you in once if you lose your authenticator app.</p>
          <ol id="recovery-list"></ol>
          <button id="copy-recovery" type="button" class="copy">Copy the codes</button>
          <p id="copy-recovery-status" class="form-status" role="status" tabindex="-1"></p>
        </div>
        <h3>Your account</h3>
        <dl id="me"></dl>
        <div id="passkeys">
          <h3>Your passkeys</h3>
          <ul id="passkey-list"></ul>
          <p id="passkey-end-sessions-line" class="check" hidden>
            <input id="passkey-end-sessions" type="checkbox" />
            <label for="passkey-end-sessions">When removing a passkey, also sign out everywhere else</label>
          </p>
          <form id="add-passkey-form" method="post" action="#">
            <label for="passkey-name">Name for a new passkey</label>
            <input id="passkey-name" name="name" autocomplete="off" maxlength="64" placeholder="Passkey" />
            <button type="submit">Add a passkey</button>
            ${messages}
          </form>
        </div>
        <button id="logout" type="button">Log out</button>
      </section>

      <div id="account-view" hidden>
        <section id="account-sessions" aria-labelledby="h-sessions">
          <h2 id="h-sessions">Your sessions</h2>
          <p class="hint">Everywhere you are signed in, newest first. Ending a session signs that device out.</p>
          <ul id="sessions-list" class="cards" aria-labelledby="h-sessions"></ul>
          <button id="sessions-reload" type="button">Reload list</button>
          <button id="logout-others" type="button" hidden>Sign out everywhere else</button>
          ${messages}
        </section>

        <section id="account-apps" aria-labelledby="h-apps" hidden>
          <h2 id="h-apps">Connected apps</h2>
          <p class="hint">Applications you signed in to with this account. Disconnecting one ends its access there; it asks you again next time.</p>
          <ul id="apps-list" class="cards" aria-labelledby="h-apps"></ul>
          <p id="apps-empty" class="hint" hidden>No connected apps.</p>
          ${messages}
        </section>

        <section id="account-activity" aria-labelledby="h-activity" hidden>
          <h2 id="h-activity">Recent activity</h2>
          <ol id="events-list" class="cards" aria-labelledby="h-activity"></ol>
          <p id="events-empty" class="hint" hidden>No activity yet.</p>
          <button id="events-more" type="button" hidden>Show older activity</button>
          ${messages}
        </section>

        <section id="account-password" aria-labelledby="h-password" hidden>
          <h2 id="h-password">Change password</h2>
          <form id="password-form" method="post" action="#">
            <label for="current-password">Current password</label>
            <input id="current-password" name="currentPassword" type="password" autocomplete="current-password" required maxlength="256" />
            <label for="new-password">New password</label>
            <input id="new-password" name="newPassword" type="password" autocomplete="new-password" required minlength="8" maxlength="256" aria-describedby="new-password-hint" />
            <p id="new-password-hint" class="hint">8 to 256 characters, not your username, not a commonly used password. Your other sessions will be signed out.</p>
            <button type="submit">Change password</button>
            ${messages}
          </form>
        </section>

        <section id="account-delete" aria-labelledby="h-delete" hidden>
          <h2 id="h-delete">Delete account</h2>
          <p id="delete-warning">This removes your account, its authenticator setup, recovery codes and sessions. It cannot be undone.</p>
          <form id="delete-form" method="post" action="#" aria-describedby="delete-warning">
            <label for="delete-password">Password</label>
            <input id="delete-password" name="password" type="password" autocomplete="current-password" required maxlength="256" />
            <p class="check">
              <input id="delete-confirm" name="confirm" type="checkbox" required />
              <label for="delete-confirm">I understand that my account will be deleted for good</label>
            </p>
            <button type="submit" class="danger">Delete my account</button>
            ${messages}
          </form>
        </section>
      </div>

      <dialog id="step-up" aria-labelledby="h-step-up" aria-describedby="step-up-intro">
        <h2 id="h-step-up">Confirm it is you</h2>
        <p id="step-up-intro">This change needs a fresh second step. Type the current code from your authenticator app.</p>
        <p id="step-up-error" role="alert" hidden></p>
        <div id="step-up-passkey-option" hidden>
          <button id="step-up-passkey" type="button">Use a passkey</button>
        </div>
        <form id="step-up-form" method="post" action="#">
          <div id="step-up-code-option">
            <label for="step-up-code">6-digit code</label>
            <input id="step-up-code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" />
          </div>
          <details id="step-up-recovery">
            <summary>Use a recovery code instead</summary>
            <label for="step-up-recovery-code">Recovery code</label>
            <input id="step-up-recovery-code" name="recoveryCode" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="64" />
          </details>
          <button id="step-up-confirm" type="submit">Confirm</button>
          <button id="step-up-cancel" type="button">Cancel</button>
        </form>
      </dialog>
    </main>
    <script src="${PAGE_SCRIPT_PATH}" integrity="${PAGE_SCRIPT_INTEGRITY}" nonce="${nonce}"></script>
  </body>
</html>`;
}

const pageRoute = declareRoute({
  method: 'get',
  path: '/',
  tag: 'service',
  summary: 'The enrollment page for people',
  description: 'An HTML page that walks a person through registration, login, TOTP enrollment and verification.',
  token: 'none',
  success: { status: 200, description: 'The page.', other: { 'text/html': { type: 'string' } } },
  errors: [],
});

/** GET /: the enrollment page, served by the Worker itself. */
export const page = routeGroup().openapi(pageRoute, (c) => {
  const nonce = base64Encode(crypto.getRandomValues(new Uint8Array(16)));
  c.header('Content-Security-Policy', contentSecurityPolicy(nonce));
  c.header('Referrer-Policy', 'no-referrer');
  return c.html(pageHtml(nonce), 200);
});
