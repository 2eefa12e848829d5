/**
 * The enrollment page's script: account, then authenticator setup or the
 * second step, then the signed-in summary. Built by scripts/build-page.mjs
 * into one inline script that runs under the page's CSP nonce.
 */
import { api, Failure, setToken, type LoggedIn, type Me, type OtpCreated, type PasskeyList, type PasskeyOptions, type PasskeyRegistered, type QrCode, type Registered, type Verified } from './api';
import { messageFor } from './messages';
import { createPasskey, getPasskey, PasskeyCancelled, passkeysSupported } from './passkeys';
import { ui } from './elements';
import { focusHeading, run, setError, setStatus, show } from './view';
import { adopt } from './session';
import { showAccount } from './account';

/** A passkey ceremony's failures in the page's words: cancelled in the browser, or refused by the server. */
async function passkeyStep<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (caught) {
    if (caught instanceof PasskeyCancelled) throw new Failure('passkey_cancelled', messageFor('passkey_cancelled')!);
    if (caught instanceof Failure && caught.code === 'invalid_code') throw new Failure('passkey_refused', messageFor('passkey_refused')!);
    throw caught;
  }
}

/** register/options, navigator.credentials.create(), register/verify. */
async function addPasskey(name?: string): Promise<PasskeyRegistered> {
  return passkeyStep(async () => {
    const options = await api<PasskeyOptions>('POST', '/webauthn/register/options', name ? { name } : {});
    const response = await createPasskey(options.publicKey);
    return api<PasskeyRegistered>('POST', '/webauthn/register/verify', { challengeId: options.challengeId, response, ...(name ? { name } : {}) });
  });
}

/** The list of passkeys in the account view, each with its Remove button. */
async function showPasskeys(): Promise<void> {
  const { credentials } = await api<PasskeyList>('GET', '/webauthn/credentials');
  ui.passkeyList.replaceChildren();
  for (const credential of credentials) {
    const item = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = credential.name + ' · added ' + new Date(credential.createdAt).toLocaleDateString() + (credential.backedUp ? ' · synced' : '');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', 'Remove passkey ' + credential.name);
    remove.addEventListener('click', () => {
      void run(ui.addPasskeyForm, remove, async () => {
        // ASVS 5.0 V7.4.3: the other sessions can end with the factor (every other one: sessions do not record which passkey).
        const endSessions = ui.passkeyEndSessions.checked;
        await api<null>('DELETE', '/webauthn/credentials/' + encodeURIComponent(credential.id) + (endSessions ? '?endSessions=true' : ''));
        await showPasskeys();
        setStatus('Passkey “' + credential.name + '” removed.' + (endSessions ? ' Every other session is signed out.' : ''));
      });
    });
    item.append(label, ' ', remove);
    ui.passkeyList.append(item);
  }
  if (credentials.length === 0) {
    const item = document.createElement('li');
    item.textContent = 'None yet.';
    ui.passkeyList.append(item);
  }
}

async function startEnrollment(): Promise<void> {
  const created = await api<OtpCreated>('POST', '/create-otp');
  const qr = await api<QrCode>('GET', '/qrcode');
  ui.secret.textContent = created.secret.replace(/(.{4})/g, '$1 ').trim();
  ui.qr.src = qr.imageUrl;
  show(['step-enroll', 'step-code']);
  ui.codeIntro.textContent = 'Then type the 6-digit code your app shows for this account.';
  ui.recoveryOption.hidden = true;
  ui.codeForm.hidden = false;
  ui.passkeyForm.hidden = true;
  ui.enrollPasskeyForm.hidden = !passkeysSupported();
  setStatus('Password accepted. Now set up your authenticator app.');
  focusHeading('step-enroll');
}

/** A finished second step: /otp-verify's answer, or a first passkey enrollment's token and codes. */
async function finish(verified: Pick<Verified, 'token'> & Partial<Pick<Verified, 'refreshToken' | 'expiresIn' | 'recoveryCodes'>>): Promise<void> {
  adopt(verified);
  const me = await api<Me>('GET', '/me');
  ui.recoveryList.replaceChildren();
  for (const code of verified.recoveryCodes || []) {
    const item = document.createElement('li');
    item.textContent = code;
    ui.recoveryList.append(item);
  }
  ui.recovery.hidden = !verified.recoveryCodes;
  const rows: Array<[term: string, value: string]> = [
    ['Username', me.username],
    ['Account id', me.id],
    ['Two-step sign-in', me.mfaEnabled ? 'On' : 'Off'],
    ['Second factors', me.methods.map((method) => (method === 'otp' ? 'authenticator app' : 'passkey')).join(', ') || 'none'],
    ['Recovery codes left', String(me.recoveryCodesRemaining)],
    ['Created', new Date(me.createdAt).toLocaleString()],
  ];
  ui.me.replaceChildren();
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    ui.me.append(dt, dd);
  }
  ui.passkeys.hidden = !passkeysSupported();
  if (passkeysSupported()) await showPasskeys();
  ui.code.value = '';
  ui.recoveryCode.value = '';
  show(['step-done']);
  setStatus('You are signed in with two factors.');
  focusHeading('step-done');
  void showAccount();
}

ui.accountForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const action = event.submitter instanceof HTMLButtonElement && event.submitter.value === 'register' ? 'register' : 'login';
  const credentials = { username: ui.username.value, password: ui.password.value };
  const fieldFor = (code: string): HTMLElement => (code === 'username_taken' || code === 'validation_failed' ? ui.username : ui.password);
  void run(ui.accountForm, fieldFor, async () => {
    setToken(null);
    if (action === 'register') {
      const user = await api<Registered>('POST', '/register', credentials);
      setStatus('Account “' + user.username + '” created. Now log in with it.');
      return ui.loginButton;
    }
    const login = await api<LoggedIn>('POST', '/login', credentials);
    setToken(login.token);
    ui.password.value = '';
    if (login.mfa === 'enroll') {
      await startEnrollment();
      return null;
    }
    show(['step-code']);
    const otp = login.methods.includes('otp');
    ui.codeForm.hidden = !otp;
    ui.passkeyForm.hidden = !(login.methods.includes('webauthn') && passkeysSupported());
    ui.codeIntro.textContent = otp ? 'Type the 6-digit code your authenticator app shows for this account.' : 'Use your passkey for this account.';
    ui.recoveryOption.hidden = false;
    if (!otp) return ui.passkeyForm.querySelector('button');
    setStatus('Password accepted. Now the second step.');
    return ui.code;
  });
});

ui.codeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = ui.code.value.trim();
  void run(ui.codeForm, ui.code, async () => {
    if (!/^[0-9]{3} ?[0-9]{3}$/.test(code)) throw new Failure('format', 'Enter the 6 digits your app shows.');
    await finish(await api<Verified>('POST', '/otp-verify', { code }));
  });
});

ui.recoveryForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const recoveryCode = ui.recoveryCode.value.trim();
  void run(ui.recoveryForm, ui.recoveryCode, async () => {
    if (!recoveryCode) throw new Failure('format', 'Enter one of your recovery codes.');
    await finish(await api<Verified>('POST', '/otp-verify', { recoveryCode }));
  });
});

ui.enrollPasskeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void run(ui.enrollPasskeyForm, ui.enrollPasskeyForm, async () => {
    // A first enrollment: the answer carries the full token and the recovery codes.
    const registered = await addPasskey();
    if (!registered.token) throw new Failure('internal', messageFor('internal')!);
    await finish({ token: registered.token, recoveryCodes: registered.recoveryCodes });
  });
});

ui.passkeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void run(ui.passkeyForm, ui.passkeyForm, async () => {
    const verified = await passkeyStep(async () => {
      const options = await api<PasskeyOptions>('POST', '/webauthn/login/options');
      const response = await getPasskey(options.publicKey);
      return api<Verified>('POST', '/webauthn/login/verify', { challengeId: options.challengeId, response });
    });
    await finish(verified);
  });
});

ui.addPasskeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.passkeyName.value.trim();
  void run(ui.addPasskeyForm, ui.passkeyName, async () => {
    const registered = await addPasskey(name || undefined);
    ui.passkeyName.value = '';
    await showPasskeys();
    setStatus('Passkey “' + registered.credential.name + '” added.');
  });
});

ui.logout.addEventListener('click', async () => {
  try {
    await api<null>('POST', '/logout');
  } catch {
    // The token is dropped below either way.
  }
  setToken(null);
  show(['step-account']);
  setError('');
  setStatus('You are logged out.');
  focusHeading('step-account');
});
