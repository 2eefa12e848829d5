import { login } from '../../core/login';
import { profile } from './profile';
import { register } from '../../core/register';
import { clientInfo } from '../../http/middleware/client-info';
import { usernameShard } from '../../http/middleware/shard';
import { ipFloodFilter } from '../../http/middleware/rate-limit';
import { declareRoute, routeGroup } from '../../http/openapi/declare';
import { loginResponse, meResponse, registerResponse } from '../../http/openapi/responses';
import { credentialsSchema, registrationSchema } from '../../http/schemas';
import { nowSeconds } from '../../core/time';

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

/** Registration, the password step, and the profile. */
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
  .openapi(meRoute, (c) => c.json(profile(c.get('auth')), 200));
