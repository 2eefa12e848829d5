/**
 * A call with the signed-in session's access token that recovers once from
 * each of the two expected 401s: `unauthorized` (the access token expired or
 * the timer was late: refresh, then retry) and
 * `insufficient_user_authentication` (step-up: prove the factor again, then
 * retry). Anything else, and a second failure, reaches the caller.
 */
import { api, Failure, type Method } from './api';
import { canRefresh, refreshNow } from './session';
import { stepUp } from './stepup';

export async function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let refreshed = false;
  let steppedUp = false;
  for (;;) {
    try {
      return await api<T>(method, path, body);
    } catch (caught) {
      if (!(caught instanceof Failure)) throw caught;
      if (caught.code === 'unauthorized' && !refreshed && canRefresh()) {
        refreshed = true;
        await refreshNow();
        continue;
      }
      if (caught.code === 'insufficient_user_authentication' && !steppedUp) {
        steppedUp = true;
        await stepUp();
        continue;
      }
      throw caught;
    }
  }
}
