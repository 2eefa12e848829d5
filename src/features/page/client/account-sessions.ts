/**
 * The account view's lists: the live sessions (end one, or all others) and
 * the recent security events. Each entry names its browser in a person's
 * words ("Chrome on Windows", user-agent.ts), with the raw User-Agent on
 * demand, so a session that is not theirs stands out. Messages appear beside
 * the section's buttons (view.ts), never at the top of the page.
 */
import { Failure, hasToken } from './api';
import { account } from './account-elements';
import { call } from './authed';
import { describeUserAgent } from './user-agent';
import { asFailure, confirmNear, setError, signOut } from './view';
import { SECURITY_EVENT_WORDS } from '../../../core/event-types';
import type { SecurityEvent, SecurityEvents, SessionInfo, SessionList } from './api-types';

const EVENTS_PAGE_SIZE = 10;

export function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function isNotDeployed(caught: unknown): boolean {
  return caught instanceof Failure && caught.code === 'not_found';
}

/** A dt/dd pair for a small description list. */
function pair(list: HTMLDListElement, term: string, value: string): void {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

/** The raw User-Agent behind a details/summary (keyboard- and screen-reader-usable, unlike a title). */
function rawUserAgent(raw: string | null): HTMLDetailsElement | null {
  if (!raw) return null;
  const details = document.createElement('details');
  details.className = 'raw-agent';
  const summary = document.createElement('summary');
  summary.textContent = 'Browser details';
  const code = document.createElement('code');
  code.textContent = raw;
  details.append(summary, code);
  return details;
}

// --- Your sessions -----------------------------------------------------------

function sessionItem(session: SessionInfo): HTMLLIElement {
  const agent = describeUserAgent(session.userAgent);
  const item = document.createElement('li');
  item.dataset.sessionId = session.id;
  if (session.current) item.classList.add('current');
  const title = document.createElement('p');
  title.className = 'session-title';
  title.textContent = agent.label;
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
  const raw = rawUserAgent(agent.raw);
  if (raw) item.append(raw);
  if (!session.current) {
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'end-session';
    end.textContent = 'End';
    end.setAttribute('aria-label', 'End the session of ' + agent.label + ', last used ' + when(session.lastUsedAt));
    end.addEventListener('click', () => void endSession(session.id, end));
    item.append(end);
  }
  return item;
}

export async function loadSessions(): Promise<void> {
  const { sessions } = await call<SessionList>('GET', '/sessions');
  account.sessionsList.replaceChildren(...sessions.map(sessionItem));
  account.logoutOthers.hidden = !sessions.some((session) => !session.current);
}

/** Runs a button's action like `run` does for forms: disabled while busy, errors shown beside it and focused. */
async function runButton(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  button.disabled = true;
  setError('');
  let failure: Failure | null = null;
  try {
    await action();
  } catch (caught) {
    failure = asFailure(caught);
  } finally {
    button.disabled = false;
  }
  if (failure && failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
  else if (failure) setError(failure.message, undefined, button.isConnected ? button : account.sessionsReload);
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
    confirmNear(account.sessionsReload, 'That session is ended: the device there is signed out.');
  });
}

account.sessionsReload.addEventListener('click', () => {
  void runButton(account.sessionsReload, async () => {
    await loadSessions();
    confirmNear(account.sessionsReload, 'The list of sessions is up to date.', false);
  });
});

account.logoutOthers.addEventListener('click', () => {
  void runButton(account.logoutOthers, async () => {
    await call<null>('POST', '/logout', { scope: 'others' });
    await loadSessions();
    confirmNear(account.sessionsReload, 'You are signed out everywhere else. This device stays signed in.');
  });
});

// --- Recent activity -----------------------------------------------------------

let eventsNext: string | null = null;

function eventItem(event: SecurityEvent): HTMLLIElement {
  const agent = event.userAgent ? describeUserAgent(event.userAgent) : null;
  const item = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'event-title';
  title.textContent = SECURITY_EVENT_WORDS[event.type];
  const time = document.createElement('time');
  time.dateTime = event.at;
  time.textContent = when(event.at);
  const where = [event.ip, agent?.label].filter((part): part is string => Boolean(part)).join(' · ');
  const meta = document.createElement('p');
  meta.className = 'hint';
  meta.append(time);
  if (where) meta.append(' · ' + where);
  item.append(title, meta);
  const raw = rawUserAgent(agent?.raw ?? null);
  if (raw) item.append(raw);
  return item;
}

export async function loadEvents(before: string | null): Promise<void> {
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
      confirmNear(account.eventsMore, 'No older activity.');
    }
  });
});

/** Forgets the lists (sign-out). */
export function clearLists(): void {
  account.sessionsList.replaceChildren();
  account.eventsList.replaceChildren();
  eventsNext = null;
}
