/** Unix time in whole seconds. The one clock the app reads; tests move it with fake timers. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
