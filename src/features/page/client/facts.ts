/**
 * "Your account" facts (GET /me) in the signed-in view, and the second
 * factors the account has, which the step-up prompt reads to offer a passkey.
 * Refreshed after every action that changes them (a passkey added or removed,
 * a recovery code spent in a step-up), so they never go stale.
 */
import { api, type Me } from './api';
import { ui } from './elements';

let methods: readonly string[] = [];

/** The account's second factors as /me last said: 'otp', 'webauthn'. */
export function accountMethods(): readonly string[] {
  return methods;
}

export function showFacts(me: Me): void {
  methods = me.methods;
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
}

/** Reads /me again and shows it. Best effort: a failure leaves the old facts (the action itself succeeded). */
export async function refreshFacts(): Promise<void> {
  try {
    showFacts(await api<Me>('GET', '/me'));
  } catch {
    // The next action, or the refresh timer, deals with a dead session.
  }
}
