/**
 * The account view's "Connected apps": the applications holding this
 * person's consent or a refresh token (GET /me/grants), each with a button
 * that disconnects it (DELETE /me/grants/:clientId). Hidden where the
 * OpenID Provider is off (the route answers 404).
 */
import { Failure, hasToken } from './api';
import type { ConnectedApp, ConnectedApps } from './api-types';
import { account } from './account-elements';
import { call } from './authed';
import { isNotDeployed } from './account-sessions';
import { asFailure, confirmNear, setError, signOut } from './view';

const SCOPE_WORDS: Record<string, string> = { openid: 'who you are', profile: 'your username', offline_access: 'staying signed in' };

const whenSeconds = (seconds: number) => new Date(seconds * 1000).toLocaleString();

function appItem(app: ConnectedApp): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.clientId = app.clientId;
  const title = document.createElement('p');
  title.className = 'session-title';
  title.textContent = app.name;
  const details = document.createElement('dl');
  const rows: [string, string][] = [
    ['Allowed', app.scopes.map((scope) => SCOPE_WORDS[scope] ?? scope).join(', ')],
    ['Connected', whenSeconds(app.createdAt)],
    ['Last used', app.lastUsedAt === null ? 'not since' : whenSeconds(app.lastUsedAt)],
  ];
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    details.append(dt, dd);
  }
  const disconnect = document.createElement('button');
  disconnect.type = 'button';
  disconnect.textContent = 'Disconnect';
  disconnect.setAttribute('aria-label', 'Disconnect ' + app.name);
  disconnect.addEventListener('click', () => void revoke(app, disconnect));
  item.append(title, details, disconnect);
  return item;
}

/** Loads the list; hides the section where the provider is off. Failures are shown beside it, never thrown. */
export async function loadApps(): Promise<void> {
  try {
    const { grants } = await call<ConnectedApps>('GET', '/me/grants');
    account.appsList.replaceChildren(...grants.map(appItem));
    account.appsEmpty.hidden = grants.length > 0;
    account.apps.hidden = false;
  } catch (caught) {
    if (isNotDeployed(caught)) {
      account.apps.hidden = true;
      return;
    }
    report(asFailure(caught), account.apps);
  }
}

function report(failure: Failure, near: Element): void {
  if (failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
  else if (hasToken()) setError(failure.message, undefined, near);
}

async function revoke(app: ConnectedApp, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  setError('');
  try {
    await call<null>('DELETE', '/me/grants/' + encodeURIComponent(app.clientId));
  } catch (caught) {
    // Already disconnected elsewhere: the reloaded list shows that.
    if (!isNotDeployed(caught)) {
      button.disabled = false;
      report(asFailure(caught), button);
      return;
    }
  }
  await loadApps();
  confirmNear(account.appsList, app.name + ' is disconnected: its access has ended.');
}

/** Forgets the list (sign-out). */
export function clearApps(): void {
  account.appsList.replaceChildren();
}
