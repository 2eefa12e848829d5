/**
 * The signed-in account view: the live sessions (end one, or all others),
 * recent security events, change password and delete account. Every call goes
 * through `call`, which refreshes an expired access token and asks for a
 * step-up when a sensitive operation needs one. A section whose route this
 * server does not have (not in /openapi.json, or `404 not_found`) is hidden.
 */
import { api, Failure, hasToken, onTokenCleared, setToken } from './api';
import { account } from './account-elements';
import { call } from './authed';
import { ui } from './elements';
import { focusHeading, run, setError, setStatus, show, signOut } from './view';
import { SECURITY_EVENT_WORDS } from '../../../core/event-types';
import type { SecurityEvent, SecurityEvents, SessionInfo } from './api-types';

const EVENTS_PAGE_SIZE = 10;

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A dt/dd pair for a small description list. */
function pair(list: HTMLDListElement, term: string, value: string): void {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

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

function isNotDeployed(caught: unknown): boolean {
  return caught instanceof Failure && caught.code === 'not_found';
}

// --- Your sessions -----------------------------------------------------------

function sessionItem(session: SessionInfo): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.sessionId = session.id;
  if (session.current) item.classList.add('current');
  const title = document.createElement('p');
  title.className = 'session-title';
  title.textContent = session.userAgent || 'Unknown browser or app';
  if (session.current) {
    const badge = document.createElement('strong');
    badge.className = 'badge';
    badge.textContent = 'This device';
    title.append(' ', badge);
  }
  const details = document.createElement('dl');
  pair(details, 'IP address', session.ip || 'unknown');
  pair(details, 'Signed in', when(session.createdAt));
  pair(details, 'Last used', when(session.lastUsedAt));
  item.append(title, details);
  if (!session.current) {
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'end-session';
    end.textContent = 'End';
    end.setAttribute('aria-label', 'End the session of ' + (session.userAgent || 'an unknown browser') + ', last used ' + when(session.lastUsedAt));
    end.addEventListener('click', () => void endSession(session.id, end));
    item.append(end);
  }
  return item;
}

async function loadSessions(): Promise<void> {
  const { sessions } = await call<{ sessions: SessionInfo[] }>('GET', '/sessions');
  account.sessionsList.replaceChildren(...sessions.map(sessionItem));
  account.logoutOthers.hidden = !sessions.some((session) => !session.current);
}

/** Runs a button's action like `run` does for forms: disabled while busy, errors shown and focused. */
async function runButton(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  button.disabled = true;
  setError('');
  try {
    await action();
  } catch (caught) {
    const failure = caught instanceof Failure ? caught : new Failure('internal', 'Something went wrong. Please try again.');
    if (failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
    else setError(failure.message, button.isConnected ? button : account.sessionsReload);
  } finally {
    button.disabled = false;
  }
}

async function endSession(id: string, button: HTMLButtonElement): Promise<void> {
  await runButton(button, async () => {
    try {
      await call<null>('DELETE', '/sessions/' + encodeURIComponent(id));
    } catch (caught) {
      // Already gone (ended elsewhere, or expired): the list below shows that.
      if (!isNotDeployed(caught)) throw caught;
    }
    await loadSessions();
    setStatus('That session is ended: the device there is signed out.');
    account.sessionsReload.focus();
  });
}

account.sessionsReload.addEventListener('click', () => {
  void runButton(account.sessionsReload, async () => {
    await loadSessions();
    setStatus('The list of sessions is up to date.');
  });
});

account.logoutOthers.addEventListener('click', () => {
  void runButton(account.logoutOthers, async () => {
    await call<null>('POST', '/logout', { scope: 'others' });
    await loadSessions();
    setStatus('You are signed out everywhere else. This device stays signed in.');
    account.sessionsReload.focus();
  });
});

// --- Recent activity -----------------------------------------------------------

let eventsNext: string | null = null;

function eventItem(event: SecurityEvent): HTMLLIElement {
  const item = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'event-title';
  title.textContent = SECURITY_EVENT_WORDS[event.type];
  const time = document.createElement('time');
  time.dateTime = event.at;
  time.textContent = when(event.at);
  const where = [event.ip, event.userAgent].filter((part): part is string => Boolean(part)).join(' · ');
  const meta = document.createElement('p');
  meta.className = 'hint';
  meta.append(time);
  if (where) meta.append(' · ' + where);
  item.append(title, meta);
  return item;
}

async function loadEvents(before: string | null): Promise<void> {
  const query = '?limit=' + EVENTS_PAGE_SIZE + (before ? '&before=' + encodeURIComponent(before) : '');
  let page: SecurityEvents;
  try {
    page = await call<SecurityEvents>('GET', '/me/security-events' + query);
  } catch (caught) {
    if (!isNotDeployed(caught)) throw caught;
    account.activity.hidden = true;
    return;
  }
  const items = page.events.map(eventItem);
  if (before) account.eventsList.append(...items);
  else account.eventsList.replaceChildren(...items);
  eventsNext = page.next;
  account.eventsEmpty.hidden = account.eventsList.childElementCount > 0;
  account.eventsMore.hidden = !eventsNext;
  account.activity.hidden = false;
}

account.eventsMore.addEventListener('click', () => {
  const firstNew = account.eventsList.childElementCount;
  void runButton(account.eventsMore, async () => {
    await loadEvents(eventsNext);
    // Keyboard and screen-reader users continue where the new entries begin.
    const next = account.eventsList.children[firstNew];
    if (next instanceof HTMLElement) {
      next.tabIndex = -1;
      next.focus();
    } else {
      setStatus('No older activity.');
    }
  });
});

// --- Change password -------------------------------------------------------------

account.passwordForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const body = { currentPassword: account.currentPassword.value, newPassword: account.newPassword.value };
  const fieldFor = (code: string): HTMLElement => (code === 'weak_password' || code === 'validation_failed' ? account.newPassword : account.currentPassword);
  void run(account.passwordForm, fieldFor, async () => {
    try {
      await call<{ ok: true }>('POST', '/password', body);
    } catch (caught) {
      if (isNotDeployed(caught)) {
        account.password.hidden = true;
        throw new Failure('not_found', 'Changing the password is not available on this server.');
      }
      // The API says which rule the new password broke (API.md "Passwords").
      if (caught instanceof Failure && caught.code === 'weak_password' && caught.serverMessage) throw new Failure(caught.code, caught.serverMessage);
      if (caught instanceof Failure && caught.code === 'invalid_credentials') throw new Failure(caught.code, 'Your current password is not right.');
      throw caught;
    }
    account.currentPassword.value = '';
    account.newPassword.value = '';
    setStatus('Your password is changed. Your other sessions were signed out.');
    await loadSessions();
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
    setStatus('Your account and everything stored for it are deleted.');
    focusHeading('step-account');
    return null;
  });
});

// --- Showing and hiding -----------------------------------------------------------

function hideAccount(): void {
  account.view.hidden = true;
  account.sessionsList.replaceChildren();
  account.eventsList.replaceChildren();
  eventsNext = null;
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
    if (events) await loadEvents(null);
  } catch (caught) {
    const failure = caught instanceof Failure ? caught : new Failure('internal', 'Something went wrong. Please try again.');
    if (failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
    else if (hasToken()) setError(failure.message);
  }
}
