/**
 * A CBOR encoder (RFC 8949 §3) for the software authenticator: unsigned and negative
 * integers, byte and text strings, arrays, and maps (a Map keeps integer keys and order).
 * Test-only; the verifier decodes with @oslojs/cbor.
 */
export type CborValue = number | string | Uint8Array | boolean | CborValue[] | Map<number | string, CborValue> | { [key: string]: CborValue };

function head(major: number, length: number): number[] {
  if (length < 24) return [(major << 5) | length];
  if (length < 0x100) return [(major << 5) | 24, length];
  if (length < 0x10000) return [(major << 5) | 25, length >> 8, length & 0xff];
  return [(major << 5) | 26, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

export function encodeCbor(value: CborValue): Uint8Array {
  const out: number[] = [];
  const write = (item: CborValue): void => {
    if (typeof item === 'number') {
      if (!Number.isInteger(item)) throw new Error('integers only');
      out.push(...(item >= 0 ? head(0, item) : head(1, -1 - item)));
    } else if (typeof item === 'boolean') {
      out.push(item ? 0xf5 : 0xf4);
    } else if (typeof item === 'string') {
      const bytes = new TextEncoder().encode(item);
      out.push(...head(3, bytes.length), ...bytes);
    } else if (item instanceof Uint8Array) {
      out.push(...head(2, item.length), ...item);
    } else if (Array.isArray(item)) {
      out.push(...head(4, item.length));
      item.forEach(write);
    } else {
      const entries = item instanceof Map ? [...item.entries()] : Object.entries(item);
      out.push(...head(5, entries.length));
      for (const [key, entry] of entries) {
        write(key);
        write(entry);
      }
    }
  };
  write(value);
  return Uint8Array.from(out);
}
