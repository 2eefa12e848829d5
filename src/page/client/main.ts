/**
 * The enrollment page's script: account, then authenticator setup or the
 * second step, then the signed-in summary. Built by scripts/build-page.mjs
 * into one inline script that runs under the page's CSP nonce.
 */
import { api, Failure, setToken, type LoggedIn, type Me, type OtpCreated, type QrCode, type Registered, type Verified } from './api';
import { ui } from './elements';
import { focusHeading, run, setError, setStatus, show } from './view';
import { adopt } from './session';
import { showAccount } from './account';

async function startEnrollment(): Promise<void> {
  const created = await api<OtpCreated>('POST', '/create-otp');
  const qr = await api<QrCode>('GET', '/qrcode');
  ui.secret.textContent = created.secret.replace(/(.{4})/g, '$1 ').trim();
  ui.qr.src = qr.imageUrl;
  show(['step-enroll', 'step-code']);
  ui.codeIntro.textContent = 'Then type the 6-digit code your app shows for this account.';
  ui.recoveryOption.hidden = true;
  setStatus('Password accepted. Now set up your authenticator app.');
  focusHeading('step-enroll');
}

async function finish(verified: Verified): Promise<void> {
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
    ui.codeIntro.textContent = 'Type the 6-digit code your authenticator app shows for this account.';
    ui.recoveryOption.hidden = false;
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
