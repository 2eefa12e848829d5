#!/usr/bin/env node
// `npm test` runs this: every Markdown file of the repository (README.md,
// docs/, BENCHMARKS.md, bench/ and any other, outside node_modules and build
// output) may link only to files inside the repository that exist, and to
// headings that exist in them; never to an absolute filesystem path or a path
// that leaves the repository (a user's clone has nothing beside it). External
// https links (RFCs and other standards) are not fetched. Prose that names a
// folder beside the repository (`../shared`) fails too. Exits 1 with each
// problem as file:line.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SKIP_DIRS = new Set(['node_modules', '.git', '.wrangler', 'e2e-output', 'out', 'dist']);

function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') && entry.isDirectory()) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, blanks to hyphens, repeats numbered. */
export function headingAnchors(markdown) {
  const anchors = new Set();
  const seen = new Map();
  for (const line of withoutFences(markdown).split('\n')) {
    const match = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!match) continue;
    const text = match[1].replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Fenced code blocks blanked out (line count kept): a `#` there is no heading. */
function withoutFences(markdown) {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** Fenced code blocks and inline code blanked out (line count kept): their brackets are not links. */
function withoutCode(markdown) {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
}

/** Each link target of a Markdown text with its line: inline links and images, reference definitions, HTML src/href. */
export function linkTargets(markdown) {
  const text = withoutCode(markdown);
  const targets = [];
  const lineOf = (index) => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push({ target: match[1], line: lineOf(match.index) });
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push({ target: match[1], line: lineOf(match.index) });
  for (const match of text.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/g)) targets.push({ target: match[1], line: lineOf(match.index) });
  return targets;
}

/** The problems of one file's links; `exists(path)` and `anchorsOf(path)` see the repository. */
export function checkFile(file, markdown, { exists, anchorsOf }) {
  const problems = [];
  const text = withoutCode(markdown);
  text.split('\n').forEach((line, i) => {
    if (/\.\.\/shared\b/.test(line)) problems.push(`${file}:${i + 1}: names ../shared, which is not in the repository`);
  });
  for (const { target, line } of linkTargets(markdown)) {
    const where = `${file}:${line}: ${target}`;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      if (/^file:/i.test(target)) problems.push(`${where}: a file: URL points outside the repository`);
      continue; // https://, mailto: ...: external, not fetched
    }
    const [pathPart, fragment] = target.split('#', 2);
    const path = decodeURIComponent(pathPart.split('?')[0]);
    if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('~')) {
      problems.push(`${where}: an absolute path; link relative to the file instead`);
      continue;
    }
    const resolved = path === '' ? resolve(root, file) : resolve(root, dirname(file), path);
    const inside = relative(root, resolved);
    if (inside.startsWith('..') || inside.split(sep).includes('..')) {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!exists(resolved)) {
      problems.push(`${where}: no such file in the repository`);
      continue;
    }
    if (fragment !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(fragment)) {
      problems.push(`${where}: no heading with the anchor #${fragment} in ${inside}`);
    }
  }
  return problems;
}

function selfTest() {
  const fake = { exists: (path) => path === resolve(root, 'docs/api.md'), anchorsOf: () => new Set(['routes']) };
  const bad = [
    '[a](../shared/API.md)',
    '[b](/work/shared/API.md)',
    '[c](docs/missing.md)',
    '[d](docs/api.md#nowhere)',
    'see ../shared for more',
  ].join('\n');
  const good = '[a](docs/api.md#routes) [b](https://www.rfc-editor.org/rfc/rfc6238) `[c](../shared/x)`\n```\n[d](/abs)\n```';
  const found = checkFile('README.md', bad, fake).length;
  const clean = checkFile('README.md', good, fake);
  if (found !== 6 || clean.length !== 0) {
    console.error(`check-docs-links: the self-test failed (${found} of 6 problems found; ${clean.join('; ')})`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  selfTest();
  const anchorCache = new Map();
  const repo = {
    exists: (path) => existsSync(path) && (statSync(path).isFile() || statSync(path).isDirectory()),
    anchorsOf: (path) => {
      if (!anchorCache.has(path)) anchorCache.set(path, headingAnchors(readFileSync(path, 'utf8')));
      return anchorCache.get(path);
    },
  };
  const files = markdownFiles(root).map((path) => relative(root, path)).sort();
  const problems = files.flatMap((file) => checkFile(file, readFileSync(join(root, file), 'utf8'), repo));
  if (problems.length > 0) {
    console.error(`check-docs-links: ${problems.length} broken link(s) in Markdown files:\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log(`check-docs-links: ${files.length} Markdown files, every link inside the repository resolves`);
}
