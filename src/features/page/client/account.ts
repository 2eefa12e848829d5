/**
 * The signed-in account view: the sessions and activity lists
 * (account-sessions.ts), change password and delete account. Every call goes
 * through `call`, which refreshes an expired access token and asks for a
 * step-up when a sensitive operation needs one. A section whose route this
 * server does not have (not in /openapi.json, or `404 not_found`) is hidden.
 * Each form's messages appear beside it, and a confirmation takes focus.
 */
import { api, Failure, hasToken, onTokenCleared, setToken } from './api';
import { account } from './account-elements';
import type { Ok } from './api-types';
import { clearLists, isNotDeployed, loadEvents, loadSessions } from './account-sessions';
import { clearApps, loadApps } from './connected-apps';
import { call } from './authed';
import { ui } from './elements';
import { asFailure, confirmNear, focusHeading, run, setError, show, signOut } from './view';

// Which optional routes this server has, from its OpenAPI description (read once).
let routesPromise: Promise<Set<string> | null> | null = null;

function routes(): Promise<Set<string> | null> {
  routesPromise ??= (async () => {
    try {
      const spec = await api<{ paths?: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
      const found = new Set<string>();
      for (const [path, operations] of Object.entries(spec?.paths ?? {})) {
        for (const method of Object.keys(operations)) found.add(method.toUpperCase() + ' ' + path);
      }
      return found;
    } catch {
      return null; // Unknown: show the sections and let a 404 hide them.
    }
  })();
  return routesPromise;
}

async function hasRoute(route: string): Promise<boolean> {
  const known = await routes();
  return known === null || known.has(route);
}

// --- Change password -------------------------------------------------------------

account.passwordForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const body = { currentPassword: account.currentPassword.value, newPassword: account.newPassword.value };
  const fieldFor = (code: string): HTMLElement => (code === 'weak_password' || code === 'validation_failed' ? account.newPassword : account.currentPassword);
  void run(account.passwordForm, fieldFor, async () => {
    try {
      await call<Ok>('POST', '/password', body);
    } catch (caught) {
      if (isNotDeployed(caught)) {
        account.password.hidden = true;
        throw new Failure('not_found', 'Changing the password is not available on this server.');
      }
      if (caught instanceof Failure && caught.code === 'invalid_credentials') throw new Failure(caught.code, 'Your current password is not right.');
      throw caught;
    }
    account.currentPassword.value = '';
    account.newPassword.value = '';
    await loadSessions();
    confirmNear(account.passwordForm, 'Your password is changed. Your other sessions were signed out.');
    return null;
  });
});

// --- Delete account --------------------------------------------------------------

account.deleteForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const password = account.deletePassword.value;
  void run(account.deleteForm, account.deletePassword, async () => {
    if (!account.deleteConfirm.checked) throw new Failure('format', 'Tick the box to confirm that the account should be deleted.');
    try {
      await call<null>('DELETE', '/me', { password });
    } catch (caught) {
      if (isNotDeployed(caught)) {
        account.remove.hidden = true;
        throw new Failure('not_found', 'Deleting the account is not available on this server.');
      }
      if (caught instanceof Failure && caught.code === 'invalid_credentials') throw new Failure(caught.code, 'That password is not right.');
      throw caught;
    }
    setToken(null);
    show(['step-account']);
    ui.username.value = '';
    focusHeading('step-account');
    confirmNear(ui.loginForm, 'Your account and everything stored for it are deleted.');
    return null;
  });
});

// --- Showing and hiding -----------------------------------------------------------

function hideAccount(): void {
  account.view.hidden = true;
  clearLists();
  clearApps();
  for (const input of [account.currentPassword, account.newPassword, account.deletePassword]) input.value = '';
  account.deleteConfirm.checked = false;
}

onTokenCleared(hideAccount);

/** Shows the account view after a sign-in with two factors. Failures are shown, never thrown. */
export async function showAccount(): Promise<void> {
  account.view.hidden = false;
  const [events, password, remove] = await Promise.all([hasRoute('GET /me/security-events'), hasRoute('POST /password'), hasRoute('DELETE /me')]);
  account.activity.hidden = !events;
  account.password.hidden = !password;
  account.remove.hidden = !remove;
  try {
    await loadSessions();
    await loadApps();
    if (events) await loadEvents(null);
  } catch (caught) {
    const failure = asFailure(caught);
    if (failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
    else if (hasToken()) setError(failure.message, undefined, account.sessionsReload);
  }
}
