/**
 * The enrollment page's script: account, then authenticator setup or the
 * second step, then the signed-in summary. Built by scripts/build-page.mjs
 * into one script file of the static assets that runs under the page's CSP nonce.
 */
import { api, Failure, hasToken, setToken, type LoggedIn, type Me, type OtpCreated, type PasskeyOptions, type PasskeyRegistered, type QrCode, type Registered, type Verified } from './api';
import { messageFor } from './messages';
import { createPasskey, passkeysSupported } from './passkeys';
import { passkeyStep, provePasskey } from './passkey-step';
import { ui } from './elements';
import { confirmNear, focusHeading, run, setError, setStatus, show } from './view';
import { adopt } from './session';
import { showAccount } from './account';
import { refreshFacts, showFacts } from './facts';
import { copyButton } from './copy';
import { warnAboutHost } from './host';
import { showPasskeys } from './passkey-list';
import { call } from './authed';
import { setupPasskeySignin, startPasskeyAutofill, stopPasskeyAutofill } from './signin-passkey';

warnAboutHost();

/**
 * register/options, navigator.credentials.create(), register/verify. Through
 * `call`: with a factor already active the server asks for a step-up, which
 * opens the prompt (a passkey, a code or a recovery code) and then retries.
 */
async function addPasskey(name?: string): Promise<PasskeyRegistered> {
  return passkeyStep(async () => {
    const options = await call<PasskeyOptions>('POST', '/webauthn/register/options', name ? { name } : {});
    const response = await createPasskey(options.publicKey);
    return call<PasskeyRegistered>('POST', '/webauthn/register/verify', { challengeId: options.challengeId, response, ...(name ? { name } : {}) });
  });
}

async function startEnrollment(): Promise<void> {
  const created = await api<OtpCreated>('POST', '/create-otp');
  const qr = await api<QrCode>('GET', '/qrcode');
  ui.secret.textContent = created.secret.replace(/(.{4})/g, '$1 ').trim();
  ui.qr.src = qr.imageUrl;
  // On the phone itself: the otpauth:// link opens the authenticator app with the key filled in.
  ui.otpauthLink.href = created.uri;
  ui.otpauthLink.hidden = false;
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
  showFacts(me);
  ui.passkeys.hidden = !passkeysSupported();
  if (passkeysSupported()) await showPasskeys();
  ui.code.value = '';
  ui.recoveryCode.value = '';
  show(['step-done']);
  setStatus('You are signed in with two factors.');
  focusHeading('step-done');
  void showAccount();
}

/** Signs in with the password; then enrollment, or the second step the account has. Returns what to focus. */
async function logIn(credentials: { username: string; password: string }): Promise<HTMLElement | null> {
  const login = await api<LoggedIn>('POST', '/login', credentials);
  setToken(login.token);
  ui.password.value = '';
  ui.registerPassword.value = '';
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
  setStatus('Password accepted. Now the second step.');
  return otp ? ui.code : ui.passkeyForm.querySelector('button');
}

// Two forms, so Enter does what the form the person is typing in says: log in, or create an account.
ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const credentials = { username: ui.username.value, password: ui.password.value };
  // The password was chosen over the passkey autofill: its pending request ends quietly.
  stopPasskeyAutofill();
  void run(ui.loginForm, (code) => (code === 'validation_failed' ? ui.username : ui.password), async () => {
    setToken(null);
    return logIn(credentials);
  }).then(() => {
    // Still on the account step (a wrong password): the autofill comes back.
    if (!hasToken()) void startPasskeyAutofill();
  });
});

// Creating an account continues into its sign-in with the same credentials, then enrollment.
ui.registerForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const credentials = { username: ui.registerUsername.value, password: ui.registerPassword.value };
  const fieldFor = (code: string): HTMLElement => (code === 'username_taken' || code === 'validation_failed' ? ui.registerUsername : ui.registerPassword);
  // As with the password: a new account was chosen over the passkey autofill.
  stopPasskeyAutofill();
  void run(ui.registerForm, fieldFor, async () => {
    setToken(null);
    const user = await api<Registered>('POST', '/register', credentials);
    ui.username.value = user.username;
    ui.registerUsername.value = '';
    return logIn(credentials);
  }).then(() => {
    if (!hasToken()) void startPasskeyAutofill();
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
    await finish(await provePasskey((proof) => api<Verified>('POST', '/webauthn/login/verify', proof)));
  });
});

ui.addPasskeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.passkeyName.value.trim();
  void run(ui.addPasskeyForm, ui.passkeyName, async () => {
    const registered = await addPasskey(name || undefined);
    ui.passkeyName.value = '';
    await Promise.all([showPasskeys(), refreshFacts()]);
    confirmNear(ui.addPasskeyForm, 'Passkey “' + registered.credential.name + '” added.');
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
  focusHeading('step-account');
  confirmNear(ui.loginForm, 'You are logged out.');
  void startPasskeyAutofill();
});

copyButton(ui.copySecret, 'the key', () => (ui.secret.textContent ?? '').replace(/\s+/g, ''));
copyButton(ui.copyRecovery, 'the recovery codes', () => [...ui.recoveryList.children].map((item) => item.textContent ?? '').join('\n'));

// Passwordless sign-in lands where a second step does.
setupPasskeySignin(finish);
