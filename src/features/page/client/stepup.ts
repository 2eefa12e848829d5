/**
 * The step-up prompt: a sensitive operation answered
 * `401 insufficient_user_authentication` (RFC 9470; the second factor is older
 * than max_age=300), so the person proves it again with a current code or a
 * recovery code (POST /reauthenticate). The new pair replaces the old one.
 */
import { api, Failure, onTokenCleared } from './api';
import { stepUpUi } from './account-elements';
import { adopt, type Tokens } from './session';

export const STEP_UP_CANCELLED_MESSAGE = 'Not confirmed, so nothing was changed.';

interface Pending {
  resolve: () => void;
  reject: (failure: Failure) => void;
}
let pending: Pending | null = null;

function setDialogError(text: string, field?: HTMLInputElement): void {
  stepUpUi.error.textContent = text;
  stepUpUi.error.hidden = !text;
  for (const input of [stepUpUi.code, stepUpUi.recoveryCode]) input.removeAttribute('aria-invalid');
  if (text && field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
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

/** Opens the prompt; resolves once the factor is proven again, rejects when cancelled or signed out. */
export function stepUp(): Promise<void> {
  if (pending) pending.reject(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE));
  return new Promise<void>((resolve, reject) => {
    pending = { resolve, reject };
    setDialogError('');
    stepUpUi.dialog.showModal();
    stepUpUi.code.focus();
  });
}

stepUpUi.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = stepUpUi.code.value.trim();
  const recoveryCode = stepUpUi.recoveryCode.value.trim();
  const field = code || !recoveryCode ? stepUpUi.code : stepUpUi.recoveryCode;
  if (code && !/^[0-9]{3} ?[0-9]{3}$/.test(code)) {
    setDialogError('Enter the 6 digits your app shows.', stepUpUi.code);
    return;
  }
  if (!code && !recoveryCode) {
    setDialogError('Enter the 6-digit code from your app, or a recovery code.', stepUpUi.code);
    return;
  }
  const buttons = [...stepUpUi.form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  stepUpUi.form.setAttribute('aria-busy', 'true');
  setDialogError('');
  void (async () => {
    try {
      adopt(await api<Tokens>('POST', '/reauthenticate', code ? { code } : { recoveryCode }));
      settle(null);
    } catch (caught) {
      const failure = caught instanceof Failure ? caught : new Failure('internal', 'Something went wrong. Please try again.');
      // A dead session cannot be proven again: the action fails and the page signs out.
      if (failure.code === 'unauthorized') settle(failure);
      else setDialogError(failure.message, field);
    } finally {
      stepUpUi.form.removeAttribute('aria-busy');
      for (const b of buttons) b.disabled = false;
    }
  })();
});

stepUpUi.cancel.addEventListener('click', () => settle(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE)));
// Escape closes a modal dialog by itself; the action then counts as cancelled.
stepUpUi.dialog.addEventListener('close', () => {
  if (pending) settle(new Failure('cancelled', STEP_UP_CANCELLED_MESSAGE));
});
onTokenCleared(() => {
  if (pending || stepUpUi.dialog.open) settle(new Failure('unauthorized', 'You are signed out.'));
});
