/** Shared steps for the verifier tests: run a software response through parse + verify. */
import {
  parseAuthenticationResponse,
  parseRegistrationResponse,
  verifyAuthentication,
  verifyRegistration,
  type StoredCredential,
} from '../../src/webauthn';
import { ORIGIN, RP_ID, SoftwareAuthenticator, USER_HANDLE, type Algorithm } from './authenticator';

export const ALGORITHMS: Array<[string, Algorithm]> = [['ES256', -7], ['Ed25519', -8], ['RS256', -257]];

export const challenge = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

export async function verifyRegistrationJSON(json: unknown, expectedChallenge: Uint8Array, rpId = RP_ID) {
  const parsed = parseRegistrationResponse(json);
  if (!parsed.ok) return parsed;
  return verifyRegistration(parsed.response, { challenge: expectedChallenge, rpId, origins: [ORIGIN] });
}

/** A registered authenticator and the record the server stored for it. */
export async function registered(algorithm: Algorithm, options: { backupEligible?: boolean; signCount?: number } = {}) {
  const authenticator = await SoftwareAuthenticator.create(algorithm, { backupEligible: options.backupEligible });
  authenticator.signCount = options.signCount ?? 0;
  const issued = challenge();
  const result = await verifyRegistrationJSON(await authenticator.register(issued), issued);
  if (!result.ok) throw new Error(`registration refused: ${result.reason}`);
  const { id, publicKey, algorithm: alg, signCount, backupEligible } = result.credential;
  const stored: StoredCredential = { id, publicKey, algorithm: alg, signCount, backupEligible };
  return { authenticator, stored };
}

export async function verifyAssertionJSON(
  json: unknown,
  stored: StoredCredential,
  expectedChallenge: Uint8Array,
  overrides: { allowCredentialIds?: Uint8Array[]; userHandle?: Uint8Array; rpId?: string } = {},
) {
  const parsed = parseAuthenticationResponse(json);
  if (!parsed.ok) return parsed;
  return verifyAuthentication(parsed.response, {
    challenge: expectedChallenge,
    rpId: overrides.rpId ?? RP_ID,
    origins: [ORIGIN],
    allowCredentialIds: overrides.allowCredentialIds ?? [stored.id],
    userHandle: overrides.userHandle ?? USER_HANDLE,
    credential: stored,
  });
}
