import { isTransientD1Error } from './transient';

/** One retry: D1 retries some of these itself; a second failure is a real outage, answered 503. */
export const READ_RETRIES = 1;

/**
 * Runs a pure read again after a transient D1 error (src/db/transient.ts).
 * Only for statements that change nothing: a write that failed in flight may
 * have committed, so running it again is not safe unless it is idempotent by
 * construction. No sleep: the Workers clock stands still while the isolate
 * computes, and a second round trip is itself a pause.
 */
export async function withReadRetry<T>(read: () => Promise<T>, retries = READ_RETRIES): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= retries || !isTransientD1Error(error)) throw error;
    }
  }
}
