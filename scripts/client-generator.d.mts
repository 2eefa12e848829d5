/** scripts/client-generator.mjs: the OpenAPI document in, client/edge-mfa-client.ts's text out. */
export function generateClient(document: unknown): string;
