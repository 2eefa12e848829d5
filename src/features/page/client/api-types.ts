/**
 * The success bodies the page reads, inferred from the route declarations'
 * own response schemas (http/openapi/responses.ts): one list per fact, so a
 * change to a response is a type error here rather than a silent drift. Type
 * imports only: esbuild erases them, and no zod reaches the page's bundle.
 */
import type { z } from 'zod';
import type {
  createOtpResponse,
  grantsResponse,
  loginResponse,
  okResponse,
  meResponse,
  otpVerifyResponse,
  qrcodeResponse,
  registerResponse,
  securityEventsResponse,
  sessionsResponse,
  tokensResponse,
  webauthnCreationOptionsResponse,
  webauthnCredentialsResponse,
  webauthnRegisteredResponse,
  webauthnRequestOptionsResponse,
  webauthnSigninOptionsResponse,
} from '../../../http/openapi/responses';

export type Registered = z.infer<typeof registerResponse>;
export type LoggedIn = z.infer<typeof loginResponse>;
export type OtpCreated = z.infer<typeof createOtpResponse>;
export type QrCode = z.infer<typeof qrcodeResponse>;
export type Verified = z.infer<typeof otpVerifyResponse>;
/** POST /refresh and /reauthenticate. */
export type Refreshed = z.infer<typeof tokensResponse>;
export type Me = z.infer<typeof meResponse>;
/** POST /password. */
export type Ok = z.infer<typeof okResponse>;
export type PasskeyOptions = z.infer<typeof webauthnCreationOptionsResponse> | z.infer<typeof webauthnRequestOptionsResponse>;
export type PasskeySigninOptions = z.infer<typeof webauthnSigninOptionsResponse>;
export type PasskeyRegistered = z.infer<typeof webauthnRegisteredResponse>;
export type PasskeyList = z.infer<typeof webauthnCredentialsResponse>;
export type SessionList = z.infer<typeof sessionsResponse>;
export type SessionInfo = SessionList['sessions'][number];
export type SecurityEvents = z.infer<typeof securityEventsResponse>;
export type SecurityEvent = SecurityEvents['events'][number];
export type ConnectedApps = z.infer<typeof grantsResponse>;
export type ConnectedApp = ConnectedApps['grants'][number];
