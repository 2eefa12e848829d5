/** The list of passkeys in the signed-in view, each with its Remove button; its messages go beside the add form. */
import { api, type PasskeyList } from './api';
import { ui } from './elements';
import { refreshFacts } from './facts';
import { confirmNear, run } from './view';

export async function showPasskeys(): Promise<void> {
  const { credentials } = await api<PasskeyList>('GET', '/webauthn/credentials');
  ui.passkeyList.replaceChildren();
  for (const credential of credentials) {
    const item = document.createElement('li');
    const label = document.createElement('span');
    // Which passkeys sign in alone (registered with a PIN or biometric), and which only after the password (issue 21).
    const use = credential.passwordless ? ' · signs in without a password' : ' · only after the password';
    label.textContent = credential.name + ' · added ' + new Date(credential.createdAt).toLocaleDateString() + (credential.backedUp ? ' · synced' : '') + use;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', 'Remove passkey ' + credential.name);
    remove.addEventListener('click', () => {
      void run(ui.addPasskeyForm, remove, async () => {
        // ASVS 5.0 V7.4.3: the other sessions can end with the factor (every other one: sessions do not record which passkey).
        const endSessions = ui.passkeyEndSessions.checked;
        await api<null>('DELETE', '/webauthn/credentials/' + encodeURIComponent(credential.id) + (endSessions ? '?endSessions=true' : ''));
        await Promise.all([showPasskeys(), refreshFacts()]);
        confirmNear(ui.addPasskeyForm, 'Passkey “' + credential.name + '” removed.' + (endSessions ? ' Every other session is signed out.' : ''));
      });
    });
    item.append(label, ' ', remove);
    ui.passkeyList.append(item);
  }
  // The choice matters only when there is a passkey to remove.
  ui.passkeyEndSessionsLine.hidden = credentials.length === 0;
  if (credentials.length === 0) {
    const item = document.createElement('li');
    item.textContent = 'None yet.';
    ui.passkeyList.append(item);
  }
}
