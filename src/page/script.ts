/**
 * The page's only script, inlined with a CSP nonce (no external assets).
 * Plain ES2020 in a string: the Worker's tsconfig has no DOM types, and
 * wrangler's bundler would wrap a serialized function in its own helpers.
 * Tokens live in the closure's variables only: never in localStorage,
 * sessionStorage, cookies or the URL, so a reload signs the person out.
 */
export const PAGE_SCRIPT = String.raw`
(() => {
  'use strict';
  let token = null;
  const $ = (id) => document.getElementById(id);
  const steps = ['step-account', 'step-enroll', 'step-code', 'step-done'];

  // What a person should read for each error code of API.md.
  const MESSAGES = {
    invalid_credentials: 'Wrong username or password.',
    weak_password: 'Choose a password of 8 to 256 characters that is not your username.',
    username_taken: 'That username is already taken. Pick another one, or log in.',
    invalid_code: 'That code is wrong or was already used. Wait for the next code in your app and try again.',
    unauthorized: 'Your sign-in has expired or was ended. Please log in again.',
    mfa_required: 'This needs the second step: enter a code from your app first.',
    mfa_already_enabled: 'Two-step sign-in is already on for this account: enter a code from your app.',
    no_pending_enrollment: 'The setup key has expired. Please log in again to get a new one.',
    mfa_not_enrolled: 'Two-step sign-in is not set up for this account. Please log in again to set it up.',
    invalid_json: 'The server could not read the request. Reload the page and try again.',
    unsupported_media_type: 'The server could not read the request. Reload the page and try again.',
    payload_too_large: 'What you typed is too long.',
    not_found: 'The server does not know this request. Reload the page and try again.',
    internal: 'Something went wrong on our side. Please try again in a moment.',
  };

  function show(stepIds) {
    for (const id of steps) $(id).hidden = !stepIds.includes(id);
  }

  function focusHeading(stepId) {
    const heading = $(stepId).querySelector('h2');
    if (heading) heading.focus();
  }

  function setStatus(text) {
    $('status').textContent = text;
  }

  function setError(text, field) {
    const box = $('error');
    box.textContent = text;
    box.hidden = !text;
    for (const input of document.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    if (text && field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  function seconds(n) {
    if (n >= 120) return 'about ' + Math.ceil(n / 60) + ' minutes';
    return n === 1 ? '1 second' : n + ' seconds';
  }

  // A lock (429): the wait from Retry-After, counted down on the form's submit button.
  const lockTimers = new WeakMap();
  function lockForm(form, waitSeconds) {
    const button = form.querySelector('button[type=submit]');
    const label = button.textContent;
    let left = waitSeconds;
    clearInterval(lockTimers.get(form));
    button.disabled = true;
    button.textContent = 'Wait ' + left + ' s';
    lockTimers.set(form, setInterval(() => {
      left -= 1;
      if (left > 0) {
        button.textContent = 'Wait ' + left + ' s';
        return;
      }
      clearInterval(lockTimers.get(form));
      button.disabled = false;
      button.textContent = label;
      setStatus('You can try again now.');
    }, 1000));
  }

  function signOut(message) {
    token = null;
    setStatus('');
    show(['step-account']);
    $('password').value = '';
    setError(message, $('password'));
  }

  // One request; resolves to the parsed body or throws { code, message }.
  async function api(method, path, body, accept) {
    const headers = { Accept: accept || 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw { code: 'network', message: 'The server could not be reached. Check your connection and try again.' };
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.ok) return data;
    const code = (data && data.error) || (response.status >= 500 ? 'internal' : 'unknown');
    let message = MESSAGES[code] || (data && data.message) || 'The request failed (' + response.status + ').';
    if (code === 'too_many_requests') {
      const wait = Math.max(1, parseInt(response.headers.get('Retry-After') || '30', 10) || 30);
      message = 'Too many attempts. Please wait ' + seconds(wait) + ' before trying again.';
      throw { code, message, wait };
    }
    if (code === 'validation_failed' && data && Array.isArray(data.issues)) {
      message = 'Please check what you typed: ' + data.issues.map((i) => (i.path ? i.path + ' ' : '') + i.message).join('; ') + '.';
    }
    throw { code, message };
  }

  // Runs a form's action with its buttons disabled, and shows any error next to the field it concerns.
  async function run(form, fieldFor, action) {
    const buttons = [...form.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    form.setAttribute('aria-busy', 'true');
    setError('');
    let wait = 0;
    let focusNext = null;
    try {
      // An action may name the element to focus once its form's buttons are enabled again.
      focusNext = await action();
    } catch (caught) {
      const error = caught && typeof caught.code === 'string' ? caught : { code: 'internal', message: MESSAGES.internal };
      if (error.code === 'unauthorized' && token) {
        signOut(error.message);
      } else {
        setError(error.message, typeof fieldFor === 'function' ? fieldFor(error.code) : fieldFor);
        wait = error.wait || 0;
      }
    } finally {
      form.removeAttribute('aria-busy');
      for (const b of buttons) b.disabled = false;
      if (wait) lockForm(form, wait);
    }
    if (focusNext) focusNext.focus();
  }

  async function startEnrollment() {
    const created = await api('POST', '/create-otp');
    const qr = await api('GET', '/qrcode');
    $('secret').textContent = created.secret.replace(/(.{4})/g, '$1 ').trim();
    $('qr').src = qr.imageUrl;
    show(['step-enroll', 'step-code']);
    $('code-intro').textContent = 'Then type the 6-digit code your app shows for this account.';
    $('recovery-option').hidden = true;
    setStatus('Password accepted. Now set up your authenticator app.');
    focusHeading('step-enroll');
  }

  async function finish(verified) {
    token = verified.token;
    const me = await api('GET', '/me');
    const list = $('recovery-list');
    list.replaceChildren();
    for (const code of verified.recoveryCodes || []) {
      const item = document.createElement('li');
      item.textContent = code;
      list.append(item);
    }
    $('recovery').hidden = !verified.recoveryCodes;
    const rows = [
      ['Username', me.username],
      ['Account id', me.id],
      ['Two-step sign-in', me.mfaEnabled ? 'On' : 'Off'],
      ['Recovery codes left', String(me.recoveryCodesRemaining)],
      ['Created', new Date(me.createdAt).toLocaleString()],
    ];
    const dl = $('me');
    dl.replaceChildren();
    for (const [term, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    }
    $('code').value = '';
    $('recovery-code').value = '';
    show(['step-done']);
    setStatus('You are signed in with two factors.');
    focusHeading('step-done');
  }

  $('account-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const action = event.submitter && event.submitter.value === 'register' ? 'register' : 'login';
    const credentials = { username: $('username').value, password: $('password').value };
    const fieldFor = (code) => (code === 'username_taken' || code === 'validation_failed' ? $('username') : $('password'));
    run(event.currentTarget, fieldFor, async () => {
      token = null;
      if (action === 'register') {
        const user = await api('POST', '/register', credentials);
        setStatus('Account “' + user.username + '” created. Now log in with it.');
        return $('login-button');
      }
      const login = await api('POST', '/login', credentials);
      token = login.token;
      $('password').value = '';
      if (login.mfa === 'enroll') {
        await startEnrollment();
        return null;
      }
      show(['step-code']);
      $('code-intro').textContent = 'Type the 6-digit code your authenticator app shows for this account.';
      $('recovery-option').hidden = false;
      setStatus('Password accepted. Now the second step.');
      return $('code');
    });
  });

  $('code-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const code = $('code').value.trim();
    run(event.currentTarget, $('code'), async () => {
      if (!/^[0-9]{3} ?[0-9]{3}$/.test(code)) throw { code: 'format', message: 'Enter the 6 digits your app shows.' };
      await finish(await api('POST', '/otp-verify', { code }));
    });
  });

  $('recovery-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const recoveryCode = $('recovery-code').value.trim();
    run(event.currentTarget, $('recovery-code'), async () => {
      if (!recoveryCode) throw { code: 'format', message: 'Enter one of your recovery codes.' };
      await finish(await api('POST', '/otp-verify', { recoveryCode }));
    });
  });

  $('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/logout');
    } catch {
      // The token is dropped below either way.
    }
    token = null;
    show(['step-account']);
    setError('');
    setStatus('You are logged out.');
    focusHeading('step-account');
  });
})();
`;
