/**
 * The step-up prompt: a sensitive operation answered
 * `401 insufficient_user_authentication` (RFC 9470; the second factor is older
 * than max_age=300), so the person proves it again (POST /reauthenticate)
 * with what the account has: a passkey (options from /webauthn/login/options
 * with the full token), a current code, or a recovery code. A passkey-only
 * account is offered its passkey first and no code field, so changing the
 * password or adding a passkey never has to spend a recovery code. The new
 * pair replaces the old one; the account facts are read again (a recovery
 * code spent here changes "Recovery codes left").
 */
import { api, Failure, onTokenCleared } from './api';
import { stepUpUi } from './account-elements';
import { accountMethods, refreshFacts } from './facts';
import { provePasskey } from './passkey-step';
import { passkeysSupported } from './passkeys';
import { adopt, type Tokens } from './session';
import { asFailure } from './view';

export const STEP_UP_CANCELLED_MESSAGE = 'Not confirmed, so nothing was changed.';

interface Pending {
  resolve: () => void;
  reject: (failure: Failure) => void;
}
let pending: Pending | null = null;

function setDialogError(text: string, field?: HTMLElement): void {
  stepUpUi.error.textContent = text;
  stepUpUi.error.hidden = !text;
  for (const input of [stepUpUi.code, stepUpUi.recoveryCode]) input.removeAttribute('aria-invalid');
  if (!text || !field) return;
  if (field instanceof HTMLInputElement) field.setAttribute('aria-invalid', 'true');
  field.focus();
}

function settle(outcome: Failure | null): void {
  const waiting = pending;
  pending = null;
  stepUpUi.code.value = '';
  stepUpUi.recoveryCode.value = '';
  setDialogError('');
  if (stepUpUi.dialog.open) stepUpUi.dialog.close();
  if (!waiting) return;
  if (outcome) waiting.reject(outcome);
  else waiting.resolve();
}

/** Shows the ways this account can prove itself: passkey, code, recovery code. */
function offerMethods(): HTMLElement {
  const methods = accountMethods();
  const passkey = methods.includes('webauthn') && passkeysSupported();
  const otp = methods.includes('otp') || methods.length === 0;
  stepUpUi.passkeyOption.hidden = !passkey;
  stepUpUi.codeOption.hidden = !otp;
  stepUpUi.recovery.open = !otp && !passkey;
  stepUpUi.intro.textContent =
    'This change needs a fresh second step. ' +
    (passkey && otp ? 'Use your passkey, or type the current code from your authenticator app.' : passkey ? 'Use your passkey.' : 'Type the current code from your authenticator app.');
  return passkey ? stepUpUi.passkey : otp ? stepUpUi.code : stepUpUi.recoveryCode;
}

/** Opens the prompt; resolves once the factor is proven again, rejects when cancelled or signed out. */
export function stepUp(): Promise<void> {
  if (pending) pending.reject(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE));
  return new Promise<void>((resolve, reject) => {
    pending = { resolve, reject };
    setDialogError('');
    const first = offerMethods();
    stepUpUi.dialog.showModal();
    first.focus();
  });
}

/** Sends one proof to /reauthenticate with the dialog's buttons disabled; a wrong one stays in the dialog. */
function reauthenticate(prove: () => Promise<Tokens>, field: HTMLElement): void {
  const buttons = [...stepUpUi.dialog.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  stepUpUi.dialog.setAttribute('aria-busy', 'true');
  setDialogError('');
  void (async () => {
    let failure: Failure | null = null;
    try {
      adopt(await prove());
    } catch (caught) {
      failure = asFailure(caught);
    } finally {
      stepUpUi.dialog.removeAttribute('aria-busy');
      for (const b of buttons) b.disabled = false;
    }
    if (!failure) {
      settle(null);
      void refreshFacts();
    } else if (failure.code === 'unauthorized') {
      // A dead session cannot be proven again: the action fails and the page signs out.
      settle(failure);
    } else {
      setDialogError(failure.message, field);
    }
  })();
}

stepUpUi.passkey.addEventListener('click', () => {
  reauthenticate(() => provePasskey((webauthn) => api<Tokens>('POST', '/reauthenticate', { webauthn })), stepUpUi.passkey);
});

stepUpUi.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const codeOffered = !stepUpUi.codeOption.hidden;
  const code = codeOffered ? stepUpUi.code.value.trim() : '';
  const recoveryCode = stepUpUi.recoveryCode.value.trim();
  const field = code || !recoveryCode ? (codeOffered ? stepUpUi.code : stepUpUi.recoveryCode) : stepUpUi.recoveryCode;
  if (code && !/^[0-9]{3} ?[0-9]{3}$/.test(code)) {
    setDialogError('Enter the 6 digits your app shows.', stepUpUi.code);
    return;
  }
  if (!code && !recoveryCode) {
    stepUpUi.recovery.open ||= !codeOffered;
    setDialogError(codeOffered ? 'Enter the 6-digit code from your app, or a recovery code.' : 'Use your passkey, or enter a recovery code.', field);
    return;
  }
  reauthenticate(() => api<Tokens>('POST', '/reauthenticate', code ? { code } : { recoveryCode }), field);
});

stepUpUi.cancel.addEventListener('click', () => settle(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE)));
// Escape closes a modal dialog by itself; the action then counts as cancelled.
stepUpUi.dialog.addEventListener('close', () => {
  if (pending) settle(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE));
});
onTokenCleared(() => {
  if (pending || stepUpUi.dialog.open) settle(new Failure('unauthorized', 'You are signed out.'));
});
