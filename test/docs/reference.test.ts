// docs/api.md is the reference a user reads; it must not fall behind the code.
// Every route the app serves (its own /openapi.json, generated from the route
// declarations) and every code of the error catalog must be in it, the code
// with its status. Vite's `?raw` import brings the Markdown into the pool.
import { describe, expect, it } from 'vitest';
import apiReference from '../../docs/api.md?raw';
import { SECURITY_EVENT_TYPES } from '../../src/core/event-types';
import { ERRORS, type ErrorCode } from '../../src/core/errors';
import { call } from '../helpers';

interface Document {
  paths: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('docs/api.md', () => {
  it('names every route of /openapi.json as `METHOD /path`', async () => {
    const response = await call<Document>('/openapi.json');
    expect(response.status).toBe(200);
    const routes = Object.entries(response.body.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => METHODS.includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((route) => !apiReference.includes(`\`${route}\``));
    expect(missing, 'routes missing from docs/api.md').toEqual([]);
  });

  it('lists every error code of the catalog with its status', () => {
    const rows = new Map<string, number>([...apiReference.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((match) => [match[1] ?? '', Number(match[2])]));
    const wrong = (Object.keys(ERRORS) as ErrorCode[])
      .filter((code) => rows.get(code) !== ERRORS[code][0])
      .map((code) => `${code}: catalog ${ERRORS[code][0]}, docs ${rows.get(code) ?? 'missing'}`);
    expect(wrong, 'error codes missing from docs/api.md or with another status').toEqual([]);
    const unknown = [...rows.keys()].filter((code) => !(code in ERRORS));
    expect(unknown, 'codes in docs/api.md that the app never answers').toEqual([]);
  });

  it('lists every security-event type under GET /me/security-events (one list: src/core/event-types.ts)', () => {
    const section = /^### GET \/me\/security-events\n([\s\S]*?)^#{2,3} /m.exec(apiReference)?.[1] ?? '';
    expect(section.length).toBeGreaterThan(0);
    const missing = SECURITY_EVENT_TYPES.filter((type) => !section.includes(`\`${type}\``));
    expect(missing, 'security-event types missing from docs/api.md').toEqual([]);
  });

  it('the checks above can fail: a route and a code that are not there are found missing', () => {
    expect(apiReference.includes('`GET /no-such-route`')).toBe(false);
    expect(/^\| `no_such_code` \|/m.test(apiReference)).toBe(false);
  });
});
