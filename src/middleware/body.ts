import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { z } from 'zod';
import { BODY_LIMIT_BYTES } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

const JSON_TYPE = /^application\/json\s*(;|$)/i;

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

/** The parsed JSON body, or `undefined` when the request had none. */
export type JsonBody = { present: false; jsonType: boolean } | { present: true; value: unknown };

/**
 * Runs before any route logic on every POST: size limit (413), content type
 * (415) and JSON parsing (400 invalid_json). Routes then validate the shape.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== 'POST') return next();
  const bytes = await readLimited(c.req.raw);
  const jsonType = JSON_TYPE.test(c.req.header('Content-Type') ?? '');
  if (bytes.byteLength === 0) {
    c.set('body', { present: false, jsonType });
    return next();
  }
  if (!jsonType) throw new ApiError('unsupported_media_type');
  let value: unknown;
  try {
    // fatal: invalid UTF-8 is invalid JSON (RFC 8259 §8.1), not silently replaced.
    // A byte order mark is refused too: JSON.parse does not accept one.
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw new ApiError('invalid_json');
  }
  c.set('body', { present: true, value });
  await next();
});

/**
 * Validates the body against a schema. A route with a required body answers
 * an empty one with 415 (no JSON content type) or 400 invalid_json.
 */
export function parseBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S, options: { optional?: boolean } = {}): z.infer<S> {
  const body = c.get('body');
  let value: unknown;
  if (!body || !body.present) {
    if (!options.optional) throw new ApiError(body?.jsonType ? 'invalid_json' : 'unsupported_media_type');
    value = {};
  } else {
    value = body.value;
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError('validation_failed', {
      issues: result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    });
  }
  return result.data;
}
