/**
 * The page's elements, looked up once. The script runs at the end of <body>,
 * so they all exist; a missing or mistyped one fails loudly at start-up.
 */
function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

export const ui = {
  status: byId('status', HTMLElement),
  hostWarning: byId('host-warning', HTMLElement),
  loginForm: byId('login-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  registerForm: byId('register-form', HTMLFormElement),
  registerUsername: byId('register-username', HTMLInputElement),
  registerPassword: byId('register-password', HTMLInputElement),
  qr: byId('qr', HTMLImageElement),
  secret: byId('secret', HTMLElement),
  otpauthLink: byId('otpauth-link', HTMLAnchorElement),
  copySecret: byId('copy-secret', HTMLButtonElement),
  copySecretStatus: byId('copy-secret-status', HTMLElement),
  copyRecovery: byId('copy-recovery', HTMLButtonElement),
  copyRecoveryStatus: byId('copy-recovery-status', HTMLElement),
  codeIntro: byId('code-intro', HTMLElement),
  codeForm: byId('code-form', HTMLFormElement),
  code: byId('code', HTMLInputElement),
  recoveryOption: byId('recovery-option', HTMLDetailsElement),
  recoveryForm: byId('recovery-form', HTMLFormElement),
  recoveryCode: byId('recovery-code', HTMLInputElement),
  recovery: byId('recovery', HTMLElement),
  recoveryList: byId('recovery-list', HTMLOListElement),
  me: byId('me', HTMLDListElement),
  logout: byId('logout', HTMLButtonElement),
  enrollPasskeyForm: byId('enroll-passkey-form', HTMLFormElement),
  passkeyForm: byId('passkey-form', HTMLFormElement),
  passkeys: byId('passkeys', HTMLElement),
  passkeyList: byId('passkey-list', HTMLUListElement),
  passkeyEndSessions: byId('passkey-end-sessions', HTMLInputElement),
  passkeyEndSessionsLine: byId('passkey-end-sessions-line', HTMLParagraphElement),
  addPasskeyForm: byId('add-passkey-form', HTMLFormElement),
  passkeyName: byId('passkey-name', HTMLInputElement),
};

/** The page's steps (sections), in order. */
export const STEPS = ['step-account', 'step-enroll', 'step-code', 'step-done'] as const;
export type StepId = (typeof STEPS)[number];

export const steps: Record<StepId, HTMLElement> = {
  'step-account': byId('step-account', HTMLElement),
  'step-enroll': byId('step-enroll', HTMLElement),
  'step-code': byId('step-code', HTMLElement),
  'step-done': byId('step-done', HTMLElement),
};
