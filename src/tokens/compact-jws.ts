/**
 * Compact JWS (RFC 7515 §3.1, §7.1) for our own Ed25519 access tokens, spelled out:
 * the hot path (every request with an access token, every refresh) pays for one
 * WebCrypto call and two small JSON parses, not for a general JOSE library's
 * option handling. Only what we issue is accepted: exactly three base64url
 * segments (no padding, no whitespace), a protected header that is a JSON object,
 * and a 64-byte signature (RFC 8032 §5.1.6). Which header members are allowed and
 * which claims are required is the caller's check (access-token.ts).
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding';

/** RFC 8037 §2: the Ed25519 signature is 64 bytes. */
const ED25519_SIGNATURE_BYTES = 64;

const encoder = new TextEncoder();
// ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it: we never write one.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type JsonObject = Record<string, unknown>;

export interface ParsedJws {
  header: JsonObject;
  /** The base64url payload segment, decoded only once the signature holds. */
  payloadSegment: string;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), what was signed (RFC 7515 §5.2 step 8). */
  signingInput: Uint8Array;
  signature: Uint8Array;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of each base64url character (RFC 4648 §5), -1 for any other. */
const BASE64URL = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((char, value) => (BASE64URL[char.charCodeAt(0)] = value));

/** base64url without padding (RFC 7515 §2) to bytes, or null: one pass that also checks the alphabet. */
function decodeSegment(segment: string): Uint8Array | null {
  const length = segment.length;
  if (length === 0 || length % 4 === 1) return null;
  const bytes = new Uint8Array((length * 3) >> 2);
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < length; i++) {
    const code = segment.charCodeAt(i);
    const value = code < 128 ? BASE64URL[code]! : -1;
    if (value < 0) return null;
    buffer = ((buffer << 6) | value) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = buffer >> bits;
    }
  }
  return bytes;
}

/** A segment holding UTF-8 JSON of an object (RFC 7515 §5.2 steps 2-4, RFC 7519 §7.2 step 10), or null. */
export function decodeJsonSegment(segment: string): JsonObject | null {
  const bytes = decodeSegment(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes));
    return isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** The parts of a compact JWS with an Ed25519-sized signature, unverified; null if it is not one. */
export function parseCompactJws(token: string): ParsedJws | null {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return null;
  const header = decodeJsonSegment(token.slice(0, first));
  const signature = decodeSegment(token.slice(second + 1));
  const payloadSegment = token.slice(first + 1, second);
  if (!header || !signature || signature.length !== ED25519_SIGNATURE_BYTES || payloadSegment.length === 0) return null;
  return { header, payloadSegment, signingInput: encoder.encode(token.slice(0, second)), signature };
}

/** RFC 7515 §5.2 step 8 with Ed25519 (RFC 8037 §3.1). */
export function verifyEd25519(key: CryptoKey, jws: ParsedJws): Promise<boolean> {
  return crypto.subtle.verify('Ed25519', key, jws.signature, jws.signingInput);
}

/**
 * RFC 7515 §5.1: BASE64URL(UTF8(header)) '.' BASE64URL(UTF8(payload)) '.' signature.
 * JSON.stringify keeps insertion order, so the same objects give the same bytes,
 * and Ed25519 is deterministic (RFC 8032 §5.1.6): the same token every time.
 */
export async function signEd25519(key: CryptoKey, header: JsonObject, payload: JsonObject): Promise<string> {
  const signingInput = `${encodeBase64urlNoPadding(encoder.encode(JSON.stringify(header)))}.${encodeBase64urlNoPadding(encoder.encode(JSON.stringify(payload)))}`;
  const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key, encoder.encode(signingInput)));
  return `${signingInput}.${encodeBase64urlNoPadding(signature)}`;
}
