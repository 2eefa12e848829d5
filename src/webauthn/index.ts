/** The passkey verifier: parse a browser's JSON, then verify a registration or an assertion. */
export { parseAuthenticationResponse, parseRegistrationResponse } from './response';
export type { AuthenticationResponse, RegistrationResponse } from './response';
export { verifyRegistration } from './register';
export type { RegistrationExpectation, RegistrationResult, VerifiedCredential } from './register';
export { verifyAuthentication } from './authenticate';
export type { AuthenticationExpectation, AuthenticationResult, StoredCredential } from './authenticate';
export { creationOptions, discoverableRequestOptions, requestOptions, CEREMONY_TIMEOUT_MILLISECONDS } from './options';
export type { CreationOptionsJSON, DiscoverableRequestOptionsJSON, RequestOptionsJSON, CredentialDescriptor } from './options';
export { checkWebAuthnConfig } from './config';
export type { CoseAlgorithm } from './cose';
export type { WebAuthnFailure } from './result';
