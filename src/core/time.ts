/** Unix time in whole seconds. The one clock the app reads; tests move it with fake timers. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A stored Unix-seconds instant as API.md shows it: ISO 8601, UTC (`2026-12-07T22:05:49.000Z`). */
export function isoInstant(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
