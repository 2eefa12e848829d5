import { findUser, resetMfa, unlockUser } from './admin';
import { issuePasswordReset, resetPassword } from './password-reset';
import { ApiError } from '../../core/errors';
import { clientInfo } from '../../http/middleware/client-info';
import { ipFloodFilter } from '../../http/middleware/rate-limit';
import { idShardDbOr, resetTokenShardDb, usernameShard } from '../../http/middleware/shard';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { adminUserResponse, okResponse, resetTokenResponse } from '../../http/openapi/responses';
import { adminReasonSchema, adminUserQuery, passwordResetSchema, userIdParams } from '../../http/schemas';
import { nowSeconds } from '../../core/time';
import { primaryDb } from '../../db/shards';

const findUserRoute = declareRoute({
  method: 'get',
  path: '/admin/users',
  tag: 'admin',
  summary: 'Look an account up by username',
  description: 'Without regard to case. No such account: `404 not_found`.',
  token: 'admin',
  query: adminUserQuery,
  success: { status: 200, description: 'The account.', schema: adminUserResponse },
  errors: ['not_found'],
});

const resetMfaRoute = declareRoute({
  method: 'post',
  path: '/admin/users/{id}/reset-mfa',
  tag: 'admin',
  summary: 'Remove every second factor of an account',
  description:
    'For someone who lost both the authenticator and the recovery codes, after support has checked who they are. TOTP and recovery codes are removed, every session is revoked, the code throttle is cleared; the next login asks to enroll. The reason is shown to the user in their security log.',
  token: 'admin',
  params: userIdParams,
  body: adminReasonSchema,
  success: { status: 200, description: 'Done.', schema: okResponse },
  errors: ['not_found'],
});

const unlockRoute = declareRoute({
  method: 'post',
  path: '/admin/users/{id}/unlock',
  tag: 'admin',
  summary: 'Clear an account’s throttles and locks',
  description: 'Clears the password, code and passkey counters, and with them any lock (also the one after 100 wrong codes), and the passwordless sign-in counter of each of the account’s passkeys. The reason is shown to the user.',
  token: 'admin',
  params: userIdParams,
  body: adminReasonSchema,
  success: { status: 200, description: 'Done.', schema: okResponse },
  errors: ['not_found'],
});

const passwordResetIssueRoute = declareRoute({
  method: 'post',
  path: '/admin/users/{id}/password-reset',
  tag: 'admin',
  summary: 'Issue a password-reset token',
  description:
    'Single use, good for one hour, stored only as a hash; a newer token replaces an older one. Hand it over only after checking the person’s identity. It resets the password only: the second factor stays.',
  token: 'admin',
  params: userIdParams,
  body: adminReasonSchema,
  success: { status: 201, description: 'The token, shown only this once.', schema: resetTokenResponse },
  errors: ['not_found'],
});

const passwordResetRoute = declareRoute({
  method: 'post',
  path: '/password/reset',
  tag: 'account',
  summary: 'Set a new password with a support-issued reset token',
  description:
    'The token is single use and good for one hour. Every session is revoked. The second factor is untouched: the next login still asks for it. A bad, used or expired token gets `401 invalid_reset_token`.',
  token: 'none',
  before: [ipFloodFilter],
  body: passwordResetSchema,
  success: { status: 200, description: 'The password was set.', schema: okResponse },
  errors: ['weak_password', 'invalid_reset_token', 'too_many_requests'],
});

/** The support desk (issue 12), behind ADMIN_TOKEN, and the reset token's redemption, which needs none. */
/**
 * An unknown user or id: still `404 not_found`, but saying what was not found,
 * so a script or an agent does not take it for a wrong URL ("No such route.").
 * Only behind a good ADMIN_TOKEN; without one every admin route stays a bare 404.
 */
const NO_SUCH_USER = { message: 'No such user.' } as const;

export const admin = routeGroup()
  .openapi(findUserRoute, async (c) => {
    // The shard of the username's key; by id below, the shard the id names (else 404, like an unknown id).
    const { username } = c.req.valid('query');
    const user = await findUser(usernameShard(c, username).db, primaryDb(c.env), username, nowSeconds());
    if (!user) throw new ApiError('not_found', NO_SUCH_USER);
    return c.json(user, 200);
  })
  .openapi(resetMfaRoute, async (c) => {
    const found = await resetMfa(idShardDbOr(c, c.req.valid('param').id, 'not_found', NO_SUCH_USER), c.req.valid('param').id, c.req.valid('json').reason, nowSeconds());
    if (!found) throw new ApiError('not_found', NO_SUCH_USER);
    return c.json({ ok: true as const }, 200);
  })
  .openapi(unlockRoute, async (c) => {
    const found = await unlockUser(idShardDbOr(c, c.req.valid('param').id, 'not_found', NO_SUCH_USER), primaryDb(c.env), c.req.valid('param').id, c.req.valid('json').reason, nowSeconds());
    if (!found) throw new ApiError('not_found', NO_SUCH_USER);
    return c.json({ ok: true as const }, 200);
  })
  .openapi(passwordResetIssueRoute, async (c) => {
    const issued = await issuePasswordReset(idShardDbOr(c, c.req.valid('param').id, 'not_found', NO_SUCH_USER), c.req.valid('param').id, c.req.valid('json').reason, nowSeconds());
    if (!issued) throw new ApiError('not_found', NO_SUCH_USER);
    return c.json(issued, 201);
  })
  .openapi(passwordResetRoute, async (c) => {
    const { resetToken, newPassword } = c.req.valid('json');
    const userId = await resetPassword(resetTokenShardDb(c, resetToken), c.get('settings').passwordHashCost, resetToken, newPassword, clientInfo(c), nowSeconds());
    c.set('sessionsEndedFor', userId);
    return c.json({ ok: true as const }, 200);
  });
