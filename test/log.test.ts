import { afterEach, describe, expect, it, vi } from 'vitest';
import { logError } from '../src/core/log';

afterEach(() => vi.restoreAllMocks());

describe('logError', () => {
  it("redacts a failed query's bound parameters (drizzle puts them after 'params:')", () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    const error = new Error('Failed query: insert into "users" values (?, ?)\nparams: alice,$scrypt$ln=14,r=8,p=5$c2FsdA==$aGFzaA==');
    error.name = 'DrizzleQueryError';
    logError('POST /register', error);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'error', event: 'internal_error', where: 'POST /register', name: 'DrizzleQueryError' });
    expect(entry.message).toContain('Failed query: insert into "users"');
    expect(entry.message).toContain('params: [redacted]');
    expect(lines[0]).not.toContain('$scrypt$');
    expect(lines[0]).not.toContain('alice');
  });
});
