/** The page's only stylesheet, inlined with the CSP nonce. System fonts, no external assets. */
export const PAGE_STYLES = `
:root { color-scheme: light dark; --accent: #1d4ed8; --error: #b91c1c; --muted: #555; }
@media (prefers-color-scheme: dark) { :root { --accent: #93b4ff; --error: #ff8a8a; --muted: #aaa; } }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 1.5rem; }
main { max-width: 40rem; margin: 0 auto; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
section { border-top: 1px solid color-mix(in srgb, currentColor 20%, transparent); }
label { display: block; font-weight: 600; margin-top: .75rem; }
.hint, .lead { color: var(--muted); margin: .25rem 0; font-size: .95rem; }
input { font: inherit; width: 100%; max-width: 22rem; padding: .5rem .6rem; border: 1px solid #888; border-radius: .35rem; }
input[aria-invalid="true"] { border-color: var(--error); border-width: 2px; }
#code { max-width: 9rem; font-size: 1.4rem; letter-spacing: .2em; font-variant-numeric: tabular-nums; }
button { font: inherit; margin: 1rem .5rem 0 0; padding: .5rem 1rem; border-radius: .35rem; border: 1px solid var(--accent); cursor: pointer; }
button[type=submit]:first-of-type, #logout { background: var(--accent); color: Canvas; }
button:disabled { opacity: .6; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
/* Headings take focus only so screen readers announce a new step; no ring needed. */
h2[tabindex]:focus { outline: none; }
#error { color: var(--error); font-weight: 600; border-left: 4px solid var(--error); padding: .25rem .75rem; margin: 1rem 0; }
#status { min-height: 1.5em; margin: .5rem 0; }
.qr-row { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
#qr { width: 200px; height: 200px; background: #fff; padding: 4px; border-radius: .35rem; }
#secret { display: block; font: 1.1rem/1.6 ui-monospace, Menlo, Consolas, monospace; word-break: break-all; max-width: 16rem; user-select: all; }
#recovery-list { font-family: ui-monospace, Menlo, Consolas, monospace; columns: 2; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
details { margin-top: 1rem; }
summary { cursor: pointer; }
/* The account view and the step-up dialog (src/page/client/account.ts, stepup.ts). */
.cards { list-style: none; padding: 0; margin: .5rem 0; }
.cards > li { border: 1px solid color-mix(in srgb, currentColor 25%, transparent); border-radius: .35rem; padding: .5rem .75rem; margin: .5rem 0; }
.cards > li.current { border-color: var(--accent); border-width: 2px; }
.cards p { margin: .1rem 0; }
.session-title, .event-title { font-weight: 600; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: .85rem; padding: 0 .4rem; border-radius: .3rem; background: var(--accent); color: Canvas; }
.cards dl { margin: .25rem 0; font-size: .95rem; }
.cards button { margin-top: .5rem; }
.check { display: flex; gap: .5rem; align-items: center; margin-top: .75rem; }
.check input { width: auto; }
.check label { margin: 0; font-weight: normal; }
#delete-form button.danger { background: var(--error); border-color: var(--error); color: Canvas; }
dialog { max-width: 26rem; border: 1px solid var(--accent); border-radius: .5rem; padding: 1rem 1.25rem; }
dialog::backdrop { background: rgb(0 0 0 / .45); }
dialog h2 { margin-top: 0; }
#step-up-error { color: var(--error); font-weight: 600; border-left: 4px solid var(--error); padding: .25rem .75rem; }
`;
