import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { vi } from 'vitest';
import app from '../../../src/index';
import { BASE, PASSWORD, setNow, totpAt, uniqueName } from '../../helpers';
import { ADMIN_TOKEN, enrolledOn } from '../../shards/support';

export { ADMIN_TOKEN };
export const ISSUER = BASE;
export const T0 = 1_800_000_000;
export const REDIRECT = 'https://rp.example/cb';

const envs = new Map<string, Env>();

/** The pool's env with the provider on (ISSUER_URL = the suite's BASE), one object per variant so caches load once. */
export function opEnv(extra: Record<string, string> = {}): Env {
  const key = JSON.stringify(extra);
  let copy = envs.get(key);
  if (!copy) envs.set(key, (copy = { ...env, ISSUER_URL: ISSUER, ...extra } as Env));
  return copy;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
  location: string | null;
}

/** One request through the app with `workerEnv`; redirects are not followed. */
export async function send(workerEnv: Env, path: string, init: RequestInit = {}): Promise<Answer> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(path.startsWith('http') ? path : `${BASE}${path}`, { redirect: 'manual', ...init }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* HTML or empty */
  }
  return { status: response.status, headers: response.headers, text, json, location: response.headers.get('Location') };
}

export function form(fields: Record<string, string | undefined>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body.append(name, value);
  return body;
}

/** A browser: a cookie jar, and same-origin Fetch Metadata on its own POSTs. */
export class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly workerEnv: Env = opEnv()) {}

  cookieHeader(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(path: string): Promise<Answer> {
    return this.keep(await send(this.workerEnv, path, { headers: { Cookie: this.cookieHeader() } }));
  }

  async post(path: string, fields: Record<string, string | undefined>, headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin' }): Promise<Answer> {
    return this.keep(
      await send(this.workerEnv, path, {
        method: 'POST',
        body: form(fields),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: this.cookieHeader(), ...headers },
      }),
    );
  }

  private keep(answer: Answer): Answer {
    for (const line of answer.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (/max-age=0/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return answer;
  }
}

/** The value of a hidden (or any) input named `name` in a page. */
export function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no field ${name} in:\n${html.slice(0, 2000)}`);
  return match[1]!.replace(/&amp;/g, '&');
}

/** The action of the form whose hidden fields we post. */
export function stepFields(html: string): { ticket: string; csrf: string } {
  return { ticket: field(html, 'ticket'), csrf: field(html, 'csrf') };
}

export function admin(workerEnv: Env, path: string, init: { method?: string; json?: unknown } = {}) {
  return send(workerEnv, path, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'CF-Connecting-IP': '203.0.113.9', ...(init.json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
}

export interface Client {
  clientId: string;
  clientSecret?: string;
}

export async function registerClient(workerEnv: Env, fields: Record<string, unknown> = {}): Promise<Client> {
  const r = await admin(workerEnv, '/admin/clients', { json: { name: 'Demo', redirectUris: [REDIRECT], type: 'confidential', ...fields } });
  if (r.status !== 201) throw new Error(`client create failed: ${r.status} ${r.text}`);
  return r.json as unknown as Client;
}

export async function pkce(verifier = `v${crypto.randomUUID()}${crypto.randomUUID()}`.replace(/-/g, '')) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return { verifier, challenge };
}

export function authorizePath(clientId: string, challenge: string, extra: Record<string, string | undefined> = {}): string {
  const params = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid profile', state: 'st-1', nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
  return `/authorize?${params}`;
}

export function basic(client: Client): string {
  return `Basic ${btoa(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret ?? '')}`)}`;
}

export function tokenRequest(workerEnv: Env, fields: Record<string, string | undefined>, authorization?: string) {
  return send(workerEnv, '/token', {
    method: 'POST',
    body: form(fields),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(authorization ? { Authorization: authorization } : {}) },
  });
}

/** An enrolled user (TOTP) of the provider's env; its enrollment used the code of `now`. */
export function enrolled(workerEnv: Env, now: number, username = uniqueName('op')) {
  return enrolledOn(workerEnv, now, username);
}

export type Enrolled = Awaited<ReturnType<typeof enrolled>>;

/**
 * Signs `user` in through the hosted pages at `now` (password, then the TOTP
 * code of `now`): the answer after the code (a redirect with the code, or the
 * consent page).
 */
export async function signIn(browser: Browser, user: Enrolled, path: string, now: number): Promise<Answer> {
  setNow(now);
  const start = await browser.get(path);
  if (start.status !== 200) throw new Error(`authorize: ${start.status} ${start.location ?? start.text.slice(0, 300)}`);
  const afterPassword = await browser.post('/authorize/password', { ...stepFields(start.text), username: user.username, password: PASSWORD });
  if (afterPassword.status !== 200 || !afterPassword.text.includes('one-time-code')) throw new Error(`password step: ${afterPassword.status} ${afterPassword.text.slice(0, 1500)}`);
  return browser.post('/authorize/otp', { ...stepFields(afterPassword.text), code: await totpAt(user.secret, now) });
}

/** The code exchange of a sign-in that ended at `location` (a redirect carrying the code), as a confidential client with PKCE makes it. */
export function exchangeCode(workerEnv: Env, client: Client, verifier: string, location: string | null) {
  return tokenRequest(workerEnv, { grant_type: 'authorization_code', code: codeOf(location), redirect_uri: REDIRECT, code_verifier: verifier }, basic(client));
}

/** A logout token POSTed to a back-channel receiver, as the stand-in receiver saw it. */
export interface LogoutPost {
  url: string;
  token: string;
}

/**
 * Stands in for every back-channel receiver whose URL starts with `prefix` (any
 * other fetch goes out as usual): records each POST's URL and logout token, in
 * order, and answers with the status `answer(url)` gives (200 by default).
 * Undone by vi.restoreAllMocks().
 */
export function interceptLogoutPosts(prefix: string, answer: (url: string) => number = () => 200): LogoutPost[] {
  const posts: LogoutPost[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(prefix)) return realFetch(input, init);
    posts.push({ url, token: new URLSearchParams(String(init?.body)).get('logout_token') ?? '' });
    return new Response(null, { status: answer(url) });
  });
  return posts;
}

export function codeOf(location: string | null): string {
  const url = new URL(location!);
  const code = url.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

export { PASSWORD };
