import { declareRoute } from '../../http/openapi/declare';

/** Served by the app itself (src/index.ts): the document covers every route, this one included. */
export const openApiRoute = declareRoute({
  method: 'get',
  path: '/openapi.json',
  tag: 'service',
  summary: 'This document',
  description: 'The OpenAPI 3.1 document, generated from the route declarations that also validate the requests.',
  token: 'none',
  success: { status: 200, description: 'The OpenAPI 3.1 document.', other: { 'application/json': { type: 'object' } } },
  errors: [],
});

