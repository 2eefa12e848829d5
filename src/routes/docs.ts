import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { openApiJson } from '../openapi/document';

/** The OpenAPI 3.1 document, generated from the request and response schemas. */
export const docs = new Hono<AppEnv>().get('/openapi.json', (c) =>
  c.body(openApiJson(), 200, { 'Content-Type': 'application/json; charset=utf-8' }),
);
