import { createMiddleware } from 'hono/factory';
import { BODY_LIMIT_BYTES } from '../../settings/tunables';
import type { AppEnv } from '../app-env';
import { ApiError } from '../../core/errors';
import { ensureSessionBeforeBodyError } from './auth';

const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** A charset parameter, as `application/json` may carry (quoted or not). */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * `application/json`, with no charset or UTF-8: JSON exchanged between
 * systems is UTF-8 (RFC 8259 §8.1), so a body declared in another charset
 * (`charset=latin1`) is a media type we do not accept (415), not one we would
 * silently misread.
 */
function isJsonType(contentType: string): boolean {
  if (!JSON_TYPE.test(contentType)) return false;
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/**
 * Reads at most BODY_LIMIT_BYTES of the stream. Content-Length alone is not
 * trusted: a chunked body, or one longer than it claims, is cut off here.
 */
async function readLimited(request: Request): Promise<Uint8Array> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null && Number(declared) > BODY_LIMIT_BYTES) throw new ApiError('payload_too_large');
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > BODY_LIMIT_BYTES) {
      await reader.cancel();
      throw new ApiError('payload_too_large');
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The JSON text of the body, or null for an empty one; 413, 415 and 400 invalid_json by API.md's rules. */
async function readJson(request: Request, required: boolean): Promise<string | null> {
  const bytes = await readLimited(request);
  const jsonType = isJsonType(request.headers.get('Content-Type') ?? '');
  if (bytes.byteLength === 0) {
    if (required) throw new ApiError(jsonType ? 'invalid_json' : 'unsupported_media_type');
    return null;
  }
  if (!jsonType) throw new ApiError('unsupported_media_type');
  let text: string;
  try {
    // fatal: invalid UTF-8 is invalid JSON (RFC 8259 §8.1), not silently replaced.
    // A byte order mark is refused too: JSON.parse does not accept one.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json');
  }
  return text;
}

/**
 * The body reader of every POST route, after its bearer check and before the
 * declared schema validates the shape. It applies API.md's size, media-type
 * and JSON rules, then hands the validator a canonical request (the JSON as
 * `application/json`, or no body at all), so the validator's own media-type
 * checks can never answer differently from these.
 */
export function jsonBody({ required }: { required: boolean }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    let text: string | null;
    try {
      text = await readJson(c.req.raw, required);
    } catch (error) {
      return ensureSessionBeforeBodyError(c, error);
    }
    const headers = new Headers(c.req.raw.headers);
    headers.delete('Content-Length');
    if (text === null) headers.delete('Content-Type');
    else headers.set('Content-Type', 'application/json');
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: text });
    await next();
  });
}
