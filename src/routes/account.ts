import { login } from '../auth/login';
import { profile } from '../auth/manage';
import { logout } from '../auth/session-list';
import { register } from '../auth/register';
import type { AppEnv } from '../env';
import { clientInfo } from '../middleware/client-info';
import { callerDb, usernameShard } from '../middleware/shard';
import { ipFloodFilter } from '../middleware/rate-limit';
import { declareRoute, routeGroup } from '../openapi/declare';
import { loginResponse, meResponse, registerResponse } from '../openapi/responses';
import { credentialsSchema, logoutSchema, registrationSchema } from '../schemas';
import { nowSeconds } from '../time';

const registerRoute = declareRoute({
  method: 'post',
  path: '/register',
  tag: 'account',
  summary: 'Create an account',
  description:
    'Usernames are trimmed, NFKC-normalized, 3 to 64 characters and unique without regard to case. Passwords are 8 to 256 characters and must differ from the username.',
  token: 'none',
  // The flood filter runs before the body reader: a flood costs no parsing.
  before: [ipFloodFilter],
  body: registrationSchema,
  success: { status: 201, description: 'The account was created.', schema: registerResponse },
  errors: ['weak_password', 'username_taken', 'too_many_requests'],
});

const loginRoute = declareRoute({
  method: 'post',
  path: '/login',
  tag: 'account',
  summary: 'Check the password; get a password-only token',
  description:
    'MFA is mandatory: `mfa` says whether to enroll (`/create-otp`) or to enter a code (`/otp-verify`). Failed passwords are throttled per account from 10 consecutive failures.',
  token: 'none',
  before: [ipFloodFilter],
  body: credentialsSchema,
  success: { status: 200, description: 'The password is right.', schema: loginResponse },
  errors: ['invalid_credentials', 'too_many_requests'],
});

const meRoute = declareRoute({
  method: 'get',
  path: '/me',
  tag: 'account',
  summary: 'The signed-in account',
  description: 'Read from the session lookup itself: no second query.',
  token: 'full',
  success: { status: 200, description: 'The account.', schema: meResponse },
  errors: [],
});

const logoutRoute = declareRoute({
  method: 'post',
  path: '/logout',
  tag: 'account',
  summary: 'End this session, the others, or all of the user’s',
  description:
    '`scope`: `current` (the default, also with no body), `others` or `all`; `{ "all": true }` still means all. A password-only token may end only its own session (`403 mfa_required`).',
  token: 'any',
  body: logoutSchema,
  bodyOptional: true,
  success: { status: 204, description: 'Revoked; no body.' },
  errors: ['mfa_required'],
});

/** Registration, the password step, the profile and logout. */
export const account = routeGroup()
  .openapi(registerRoute, async (c) => {
    const { username, password } = c.req.valid('json');
    // The shard of the username's key: `Alice` and `ＡＬＩＣＥ` meet one unique index.
    const { db, shard } = usernameShard(c, username);
    const user = await register(db, c.get('settings').passwordHashCost, username, password, nowSeconds(), shard);
    return c.json(user, 201);
  })
  .openapi(loginRoute, async (c) => {
    const { username, password } = c.req.valid('json');
    const result = await login(usernameShard(c, username).db, c.get('settings'), username, password, nowSeconds(), clientInfo(c));
    return c.json({ token: result.token, authorized: false as const, mfa: result.mfa, methods: result.methods, expiresIn: result.expiresIn }, 200);
  })
  .openapi(meRoute, (c) => c.json(profile(c.get('auth')), 200))
  .openapi(logoutRoute, async (c) => {
    const { scope, all } = c.req.valid('json');
    await logout(callerDb(c), c.get('auth'), scope ?? (all === true ? 'all' : 'current'), nowSeconds(), clientInfo(c));
    return c.body(null, 204);
  });
