import { Hono } from 'hono';
import { login } from '../auth/login';
import { logout, profile } from '../auth/manage';
import { register } from '../auth/register';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';
import { requireAuth } from '../middleware/auth';
import { parseBody } from '../middleware/body';
import { ipFloodFilter } from '../middleware/rate-limit';
import { credentialsSchema, logoutSchema, registrationSchema } from '../schemas';
import { nowSeconds } from '../time';

/** Registration, the password step, the profile and logout. */
export const account = new Hono<AppEnv>()
  .post('/register', ipFloodFilter, async (c) => {
    const { username, password } = parseBody(c, registrationSchema);
    const user = await register(getDb(c.env.DB), username, password, nowSeconds());
    return c.json(user, 201);
  })
  .post('/login', ipFloodFilter, async (c) => {
    const { username, password } = parseBody(c, credentialsSchema);
    const result = await login(getDb(c.env.DB), c.get('settings'), username, password, nowSeconds());
    return c.json({ token: result.token, authorized: false, mfa: result.mfa, expiresIn: result.expiresIn }, 200);
  })
  .get('/me', requireAuth('full'), async (c) => {
    return c.json(profile(c.get('auth')), 200);
  })
  .post('/logout', requireAuth('any'), async (c) => {
    const { all } = parseBody(c, logoutSchema, { optional: true });
    await logout(getDb(c.env.DB), c.get('auth'), all === true, nowSeconds());
    return c.body(null, 204);
  });
