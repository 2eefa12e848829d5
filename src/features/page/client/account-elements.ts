/**
 * The elements of the signed-in account view and the step-up dialog, looked
 * up once (the script runs at the end of <body>).
 */
function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

export const account = {
  view: byId('account-view', HTMLElement),
  sessions: byId('account-sessions', HTMLElement),
  sessionsList: byId('sessions-list', HTMLUListElement),
  sessionsReload: byId('sessions-reload', HTMLButtonElement),
  logoutOthers: byId('logout-others', HTMLButtonElement),
  apps: byId('account-apps', HTMLElement),
  appsList: byId('apps-list', HTMLUListElement),
  appsEmpty: byId('apps-empty', HTMLElement),
  activity: byId('account-activity', HTMLElement),
  eventsList: byId('events-list', HTMLOListElement),
  eventsEmpty: byId('events-empty', HTMLElement),
  eventsMore: byId('events-more', HTMLButtonElement),
  password: byId('account-password', HTMLElement),
  passwordForm: byId('password-form', HTMLFormElement),
  currentPassword: byId('current-password', HTMLInputElement),
  newPassword: byId('new-password', HTMLInputElement),
  remove: byId('account-delete', HTMLElement),
  deleteForm: byId('delete-form', HTMLFormElement),
  deletePassword: byId('delete-password', HTMLInputElement),
  deleteConfirm: byId('delete-confirm', HTMLInputElement),
};

export const stepUpUi = {
  dialog: byId('step-up', HTMLDialogElement),
  form: byId('step-up-form', HTMLFormElement),
  error: byId('step-up-error', HTMLElement),
  intro: byId('step-up-intro', HTMLElement),
  passkeyOption: byId('step-up-passkey-option', HTMLElement),
  passkey: byId('step-up-passkey', HTMLButtonElement),
  codeOption: byId('step-up-code-option', HTMLElement),
  code: byId('step-up-code', HTMLInputElement),
  recovery: byId('step-up-recovery', HTMLDetailsElement),
  recoveryCode: byId('step-up-recovery-code', HTMLInputElement),
  confirm: byId('step-up-confirm', HTMLButtonElement),
  cancel: byId('step-up-cancel', HTMLButtonElement),
};
