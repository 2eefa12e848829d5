import { Failure, hasToken, setToken } from './api';
import { steps, STEPS, ui, type StepId } from './elements';
import { INTERNAL_MESSAGE } from './messages';

/** Shows exactly these steps and hides the others. */
export function show(stepIds: readonly StepId[]): void {
  for (const id of STEPS) steps[id].hidden = !stepIds.includes(id);
}

export function focusHeading(stepId: StepId): void {
  const heading = steps[stepId].querySelector('h2');
  if (heading) heading.focus();
}

export function setStatus(text: string): void {
  ui.status.textContent = text;
}

/** Shows `text` in the alert (or clears it with ''), and marks and focuses the field it concerns. */
export function setError(text: string, field?: HTMLElement): void {
  ui.error.textContent = text;
  ui.error.hidden = !text;
  for (const input of document.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  if (text && field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

// A lock (429): the wait from Retry-After, counted down on the form's submit button.
const lockTimers = new WeakMap<HTMLFormElement, number>();

function lockForm(form: HTMLFormElement, waitSeconds: number): void {
  const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
  if (!button) return;
  const label = button.textContent;
  let left = waitSeconds;
  clearInterval(lockTimers.get(form));
  button.disabled = true;
  button.textContent = 'Wait ' + left + ' s';
  lockTimers.set(
    form,
    setInterval(() => {
      left -= 1;
      if (left > 0) {
        button.textContent = 'Wait ' + left + ' s';
        return;
      }
      clearInterval(lockTimers.get(form));
      button.disabled = false;
      button.textContent = label;
      setStatus('You can try again now.');
    }, 1000),
  );
}

/** Drops the token and goes back to the first step with `message`. */
export function signOut(message: string): void {
  setToken(null);
  setStatus('');
  show(['step-account']);
  ui.password.value = '';
  setError(message, ui.password);
}

/** The field an error concerns: one field, or one chosen by the error's code. */
export type FieldFor = HTMLElement | ((code: string) => HTMLElement);

/**
 * Runs a form's action with its buttons disabled, and shows any error next to
 * the field it concerns. An action may name the element to focus once its
 * form's buttons are enabled again.
 */
export async function run(form: HTMLFormElement, fieldFor: FieldFor, action: () => Promise<HTMLElement | null | void>): Promise<void> {
  const buttons = [...form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  form.setAttribute('aria-busy', 'true');
  setError('');
  let wait = 0;
  let focusNext: HTMLElement | null | void = null;
  try {
    focusNext = await action();
  } catch (caught) {
    const error = caught instanceof Failure ? caught : new Failure('internal', INTERNAL_MESSAGE);
    if (error.code === 'unauthorized' && hasToken()) {
      signOut(error.message);
    } else {
      setError(error.message, typeof fieldFor === 'function' ? fieldFor(error.code) : fieldFor);
      wait = error.waitSeconds;
    }
  } finally {
    form.removeAttribute('aria-busy');
    for (const b of buttons) b.disabled = false;
    if (wait) lockForm(form, wait);
  }
  if (focusNext) focusNext.focus();
}
