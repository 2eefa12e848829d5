import { routeGroup } from '../../http/openapi/declare';
import { authorizeRoutes } from './routes-authorize';
import { clientRoutes } from './routes-clients';
import { stepRoutes } from './routes-steps';
import { tokenRoutes } from './routes-token';
import { endSessionRoutes } from './routes-end-session';
import { meGrantRoutes } from './routes-me-grants';

/** The OpenID Provider (issue 19, API.md "OpenID Provider (v3)"): every route answers 404 while ISSUER_URL is unset. */
export const oidc = routeGroup().route('/', clientRoutes).route('/', tokenRoutes).route('/', authorizeRoutes).route('/', stepRoutes).route('/', endSessionRoutes).route('/', meGrantRoutes);
