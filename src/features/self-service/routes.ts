import { deleteAccount } from './delete-account';
import { changePassword } from './password-change';
import { decodeCursor, listEvents } from './security-log';
import { ApiError } from '../../core/errors';
import { clientInfo } from '../../http/middleware/client-info';
import { callerDb } from '../../http/middleware/shard';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { okResponse, securityEventsResponse } from '../../http/openapi/responses';
import { deleteAccountSchema, passwordChangeSchema, securityEventsQuery } from '../../http/schemas';
import { nowSeconds } from '../../core/time';

const DEFAULT_EVENTS_PER_PAGE = 20;

const passwordRoute = declareRoute({
  method: 'post',
  path: '/password',
  tag: 'account',
  summary: 'Change the password',
  description:
    'Needs a second factor proven within the last 300 s (step-up). The current password is checked under the same per-account throttle as `/login`; the new one follows the registration rules. Every other session is revoked; this one stays.',
  token: 'full',
  stepUp: true,
  body: passwordChangeSchema,
  success: { status: 200, description: 'The password was changed.', schema: okResponse },
  errors: ['weak_password', 'invalid_credentials', 'too_many_requests'],
});

const deleteMeRoute = declareRoute({
  method: 'delete',
  path: '/me',
  tag: 'account',
  summary: 'Delete the account',
  description:
    'Needs step-up and the password. The account and everything stored for it (sessions, recovery codes, security events, throttle counters) is deleted at once; its tokens stop working and the username is free again.',
  token: 'full',
  stepUp: true,
  body: deleteAccountSchema,
  success: { status: 204, description: 'Deleted; no body.' },
  errors: ['invalid_credentials', 'too_many_requests'],
});

const securityEventsRoute = declareRoute({
  method: 'get',
  path: '/me/security-events',
  tag: 'account',
  summary: 'The account’s security log',
  description:
    'Logins, second-factor successes and failures, locks, enrollment, recovery codes, password and MFA changes, ended sessions and admin actions, newest first, kept 90 days. Page with `before` set to the previous page’s `next`.',
  token: 'full',
  query: securityEventsQuery,
  success: { status: 200, description: 'One page of events.', schema: securityEventsResponse },
  errors: [],
});

/** Account self-service: password change, deletion, the security log. */
export const selfService = routeGroup()
  .openapi(passwordRoute, async (c) => {
    const { currentPassword, newPassword } = c.req.valid('json');
    await changePassword(callerDb(c), c.get('settings').passwordHashCost, c.get('auth'), currentPassword, newPassword, clientInfo(c), nowSeconds());
    return c.json({ ok: true as const }, 200);
  })
  .openapi(deleteMeRoute, async (c) => {
    const { password } = c.req.valid('json');
    const auth = c.get('auth');
    await deleteAccount(callerDb(c), c.get('settings').passwordHashCost, auth, password, clientInfo(c), nowSeconds(), async () => c.get('beforeAccountDeletion')?.(auth.user.id));
    return c.body(null, 204);
  })
  .openapi(securityEventsRoute, async (c) => {
    const { limit, before } = c.req.valid('query');
    const { cursorKey } = c.get('settings');
    const userId = c.get('auth').user.id;
    const cursor = before === undefined ? null : await decodeCursor(cursorKey, userId, before);
    if (before !== undefined && cursor === null) {
      throw new ApiError('validation_failed', { issues: [{ path: 'before', message: 'must be the `next` value of an earlier page' }] });
    }
    const page = await listEvents(callerDb(c), cursorKey, userId, limit ?? DEFAULT_EVENTS_PER_PAGE, cursor);
    return c.json(page, 200);
  });
