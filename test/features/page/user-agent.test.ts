import { describe, expect, it } from 'vitest';
import { describeUserAgent } from '../../../src/features/page/client/user-agent';

/**
 * Issue 23: the sessions list and the activity log showed raw User-Agent
 * strings, which nobody reads; a person should see "Chrome on Windows" and
 * spot the session that is not theirs. The raw string stays on demand.
 */
const CASES: Array<[string, string]> = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on Windows'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari on macOS'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari on iPhone'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 'Chrome on iPhone'],
  ['Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148', 'Safari on iPad'],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
  ['Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', 'Samsung Internet on Android'],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Linux'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', 'Opera on Windows'],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on ChromeOS'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
  ['curl/8.5.0', 'curl'],
  ['node', 'Unknown browser'],
  ['python-requests/2.32.3', 'python-requests'],
  ['Mozilla/5.0 (compatible; SomeBot/1.0)', 'Unknown browser'],
  ['Mozilla/5.0 (Windows NT 10.0) SomethingNew/1.0', 'Unknown browser on Windows'],
];

describe('describeUserAgent', () => {
  it.each(CASES)('%s → %s', (raw, label) => {
    expect(describeUserAgent(raw)).toEqual({ label, raw });
  });

  it('no User-Agent, or only blanks: "Unknown browser" and no raw string', () => {
    for (const value of [null, undefined, '', '   ']) expect(describeUserAgent(value)).toEqual({ label: 'Unknown browser', raw: null });
  });

  it('a hostile string is never echoed as the label: only names from the lists, or a short product token', () => {
    const hostile = '<img src=x onerror=alert(1)>/1.0 Chrome';
    expect(describeUserAgent(hostile).label).toBe('Unknown browser');
    expect(describeUserAgent('x'.repeat(5000) + '/1').label).toBe('Unknown browser');
  });
});
