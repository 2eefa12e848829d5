/**
 * A User-Agent string in a person's words: "Chrome on Windows", "Safari on
 * iPhone", so a session or an event that is not theirs stands out. Only the
 * few browsers and systems most people use are named; anything else is
 * "Unknown browser" or the program's own name (curl, an SDK). The raw string
 * stays available on demand beside it. Pure: no DOM, unit-tested in the pool
 * (test/features/page/user-agent.test.ts).
 */

/** Order matters: Edge, Opera, Samsung and others also say "Chrome" and "Safari". */
const BROWSERS: ReadonlyArray<[name: string, pattern: RegExp]> = [
  ['Edge', /\bEdg(e|A|iOS)?\//],
  ['Opera', /\b(OPR|Opera)\//],
  ['Samsung Internet', /\bSamsungBrowser\//],
  ['Vivaldi', /\bVivaldi\//],
  ['Firefox', /\b(Firefox|FxiOS)\//],
  ['Chrome', /\b(Chrome|CriOS|Chromium|HeadlessChrome)\//],
  ['Safari', /\bVersion\/[\d.]+.*\bSafari\//],
  ['Safari', /\bAppleWebKit\/.*\bMobile\//],
];

const SYSTEMS: ReadonlyArray<[name: string, pattern: RegExp]> = [
  ['iPhone', /\biPhone\b/],
  ['iPad', /\biPad\b/],
  ['Android', /\bAndroid\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['Windows', /\bWindows\b/],
  ['macOS', /\bMac OS X\b|\bMacintosh\b/],
  ['Linux', /\bLinux\b|\bX11\b/],
];

/** Command-line tools and libraries: named by their product token ("curl/8.5.0" → "curl"). */
const PROGRAM = /^([A-Za-z][\w.-]{0,40})\/[\w.]+/;

export interface DescribedUserAgent {
  /** "Chrome on Windows", "Firefox", "curl", "Unknown browser". */
  label: string;
  /** The string as sent, or null when there was none. */
  raw: string | null;
}

function first(list: ReadonlyArray<[string, RegExp]>, text: string): string | null {
  for (const [name, pattern] of list) if (pattern.test(text)) return name;
  return null;
}

export function describeUserAgent(userAgent: string | null | undefined): DescribedUserAgent {
  const raw = userAgent ? userAgent.trim() : '';
  if (!raw) return { label: 'Unknown browser', raw: null };
  const browser = first(BROWSERS, raw);
  const system = first(SYSTEMS, raw);
  if (browser) return { label: system ? browser + ' on ' + system : browser, raw };
  if (!raw.startsWith('Mozilla/')) {
    const program = PROGRAM.exec(raw)?.[1];
    if (program) return { label: program, raw };
  }
  return { label: system ? 'Unknown browser on ' + system : 'Unknown browser', raw };
}
