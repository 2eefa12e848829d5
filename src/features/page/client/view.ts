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

/** The page-wide announcement of a new step (read by screen readers; the step's heading takes focus). */
export function setStatus(text: string): void {
  ui.status.textContent = text;
}

/**
 * The message lines of the form (or section, or copy button's block) that
 * `near` belongs to: every form and button section of the template has a
 * `.form-error` (role=alert) and a `.form-status` (role=status) of its own.
 */
function slots(near: Element): { error: HTMLElement | null; status: HTMLElement | null } {
  const scope = near.closest('form') ?? near.closest('section, div');
  const own = (selector: string): HTMLElement | null => {
    if (!scope) return null;
    // A section's own lines, not those of a form inside it.
    for (const candidate of scope.querySelectorAll<HTMLElement>(selector)) {
      if (scope instanceof HTMLFormElement || !candidate.closest('form')) return candidate;
    }
    return null;
  };
  return { error: own('.form-error'), status: own('.form-status') };
}

/** Clears every error on the page: the alerts beside the forms and the fields they marked. */
function clearErrors(): void {
  for (const alert of document.querySelectorAll<HTMLElement>('.form-error')) {
    alert.textContent = '';
    alert.hidden = true;
  }
  for (const input of document.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const describedBy = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && !id.startsWith('error-of-'));
    if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

let errorIds = 0;

/**
 * Shows `text` in the alert beside `near` (default: the field), marks the
 * field invalid and describes it by the alert, and moves focus: to the field
 * when there is one (its description now reads the error), else to the alert.
 * Either way the alert is scrolled into view. '' clears every error.
 */
export function setError(text: string, field?: HTMLElement, near: Element | undefined = field): void {
  clearErrors();
  if (!text) return;
  const alert = near ? slots(near).error : null;
  if (!alert) return;
  alert.id ||= 'error-of-' + ++errorIds;
  alert.textContent = text;
  alert.hidden = false;
  const isField = field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement || field instanceof HTMLSelectElement;
  if (isField && field.isConnected && !field.closest('[hidden]')) {
    field.setAttribute('aria-invalid', 'true');
    const describedBy = field.getAttribute('aria-describedby');
    field.setAttribute('aria-describedby', describedBy ? describedBy + ' ' + alert.id : alert.id);
    field.focus();
  } else {
    alert.tabIndex = -1;
    alert.focus();
  }
  alert.scrollIntoView({ block: 'nearest' });
}

/**
 * A confirmation beside the action it answers ("Password changed"): shown in
 * that form's status line, which takes focus (it has tabindex=-1), so neither
 * the eye nor a screen reader has to look for it, and focus never falls to <body>.
 */
export function confirmNear(near: Element, text: string, moveFocus = true): void {
  const status = slots(near).status;
  if (!status) {
    setStatus(text);
    return;
  }
  // Other forms' old confirmations would now be stale.
  for (const other of document.querySelectorAll<HTMLElement>('.form-status')) if (other !== status) other.textContent = '';
  status.textContent = text;
  if (moveFocus && !status.closest('[hidden]')) {
    status.focus();
    status.scrollIntoView({ block: 'nearest' });
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
      confirmNear(form, 'You can try again now.', false);
    }, 1000),
  );
}

/** Drops the token and goes back to the first step with `message` beside the login form. */
export function signOut(message: string): void {
  setToken(null);
  setStatus('');
  show(['step-account']);
  ui.password.value = '';
  setError(message, ui.password);
}

/** The field an error concerns: one field, or one chosen by the error's code. */
export type FieldFor = HTMLElement | ((code: string) => HTMLElement);

/** A caught value as the Failure a person reads. */
export function asFailure(caught: unknown): Failure {
  return caught instanceof Failure ? caught : new Failure('internal', INTERNAL_MESSAGE);
}

/**
 * Runs a form's action with its buttons disabled, and shows any error beside
 * the form, on the field it concerns. An action may name the element to
 * focus once its form's buttons are enabled again.
 */
export async function run(form: HTMLFormElement, fieldFor: FieldFor, action: () => Promise<HTMLElement | null | void>): Promise<void> {
  const buttons = [...form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  form.setAttribute('aria-busy', 'true');
  setError('');
  let wait = 0;
  let focusNext: HTMLElement | null | void = null;
  let failure: Failure | null = null;
  try {
    focusNext = await action();
  } catch (caught) {
    failure = asFailure(caught);
    wait = failure.waitSeconds;
  } finally {
    form.removeAttribute('aria-busy');
    for (const b of buttons) b.disabled = false;
    if (wait) lockForm(form, wait);
  }
  // After the buttons are enabled again, so focus can land on them.
  if (failure && failure.code === 'unauthorized' && hasToken()) signOut(failure.message);
  else if (failure) {
    const field = typeof fieldFor === 'function' ? fieldFor(failure.code) : fieldFor;
    setError(failure.message, field, field.closest('form') === form ? field : form);
  } else if (focusNext) focusNext.focus();
}
