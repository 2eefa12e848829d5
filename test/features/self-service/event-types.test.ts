import { describe, expect, it } from 'vitest';
import { SECURITY_EVENT_TYPES, SECURITY_EVENT_WORDS } from '../../../src/core/event-types';
import { PAGE_SCRIPT_PATH } from '../../../src/http/page-assets.generated';
import { call, staticAsset } from '../../helpers';

/**
 * One list per fact: the security-event types are declared once
 * (src/core/event-types.ts) with the words the page shows. These checks fail
 * when a type has no words, when /openapi.json offers another list, or when
 * the page's built script lacks a type's words.
 */
describe('the security-event types, one list', () => {
  it('every type has words of its own', () => {
    expect(SECURITY_EVENT_TYPES.length).toBeGreaterThan(0);
    for (const type of SECURITY_EVENT_TYPES) {
      const words = SECURITY_EVENT_WORDS[type];
      expect(typeof words, type).toBe('string');
      expect(words.trim().length, type).toBeGreaterThan(0);
      expect(words, type).not.toBe(type);
    }
  });

  it('/openapi.json offers exactly these types', async () => {
    const doc = await call<{ paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>> }>('/openapi.json');
    const schema = JSON.stringify(doc.body.paths['/me/security-events']?.get?.responses['200']?.content['application/json']?.schema);
    const match = /"type":\{"type":"string","enum":(\[[^\]]*\])/.exec(schema);
    expect(match, schema).not.toBeNull();
    expect(JSON.parse(match![1]!)).toEqual(SECURITY_EVENT_TYPES);
  });

  it("the page's script carries the words of every type", async () => {
    const script = (await staticAsset(PAGE_SCRIPT_PATH)).text;
    for (const type of SECURITY_EVENT_TYPES) expect(script, type).toContain(SECURITY_EVENT_WORDS[type]);
  });
});
