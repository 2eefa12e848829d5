/**
 * Proactive negotiation on the Accept header (RFC 9110 §12.5.1): media ranges
 * are case-insensitive, each offered type takes the q of the most specific
 * range that matches it, and q=0 means "not acceptable".
 */

interface MediaRange {
  type: string;
  subtype: string;
  /** 0 to 1000: q in thousandths (RFC 9110 §12.4.2 allows three decimals). */
  weight: number;
  /** Position in the header, the last tie-break. */
  position: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The header's ranges; a range that does not parse, or with a malformed q, is skipped. */
function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  header.split(',').forEach((part, position) => {
    const [mediaType = '', ...params] = part.split(';').map((piece) => piece.trim());
    const [type, subtype, extra] = mediaType.toLowerCase().split('/');
    if (!type || !subtype || extra !== undefined || !TOKEN.test(type) || !TOKEN.test(subtype)) return;
    if (type === '*' && subtype !== '*') return;
    let weight = 1000;
    for (const param of params) {
      const [name = '', value = ''] = param.split('=').map((piece) => piece.trim());
      if (name.toLowerCase() !== 'q') continue;
      if (!QVALUE.test(value)) return;
      weight = Math.round(Number(value) * 1000);
    }
    ranges.push({ type, subtype, weight, position });
  });
  return ranges;
}

/** 2 for an exact match, 1 for `type/*`, 0 for `*\/*`, -1 for none. */
function specificity(range: MediaRange, type: string, subtype: string): number {
  if (range.type === type && range.subtype === subtype) return 2;
  if (range.type === type && range.subtype === '*') return 1;
  if (range.type === '*' && range.subtype === '*') return 0;
  return -1;
}

/**
 * Which of `offered` (lower case, the server's preference first) to send. No
 * header means anything goes: the first offered. Ties on q go to the range the
 * client listed first, then to the server's order. When nothing offered is
 * acceptable, the first offered is sent anyway (RFC 9110 §12.5.1 allows
 * ignoring the header; API.md has no 406).
 */
export function negotiate<T extends string>(accept: string | undefined, offered: readonly [T, ...T[]]): T {
  if (accept === undefined || accept.trim() === '') return offered[0];
  const ranges = parseAccept(accept);
  let best: { type: T; weight: number; position: number; order: number } | null = null;
  for (const [order, candidate] of offered.entries()) {
    const [type = '', subtype = ''] = candidate.split('/');
    let match: MediaRange | null = null;
    let matchSpecificity = -1;
    for (const range of ranges) {
      const s = specificity(range, type, subtype);
      if (s > matchSpecificity) {
        match = range;
        matchSpecificity = s;
      }
    }
    if (!match || match.weight === 0) continue;
    const better =
      !best ||
      match.weight > best.weight ||
      (match.weight === best.weight && (match.position < best.position || (match.position === best.position && order < best.order)));
    if (better) best = { type: candidate, weight: match.weight, position: match.position, order };
  }
  return best ? best.type : offered[0];
}
