import { hasSecondFactor, methodsOf, type Method } from '../../core/factors';
import type { AuthContext } from '../../core/sessions/lookup';
import { isoInstant } from '../../core/time';

export interface Profile {
  id: string;
  username: string;
  mfaEnabled: boolean;
  /** The second factors the account can verify with (API.md `methods`). */
  methods: Method[];
  recoveryCodesRemaining: number;
  createdAt: string;
}

/** Everything comes from the auth middleware's one query: no D1 round trip of its own. */
export function profile(auth: AuthContext): Profile {
  const { user } = auth;
  return {
    id: user.id,
    username: user.username,
    mfaEnabled: hasSecondFactor(user, auth.passkeyCount),
    methods: methodsOf(user, auth.passkeyCount),
    recoveryCodesRemaining: auth.recoveryCodesRemaining,
    createdAt: isoInstant(user.createdAt),
  };
}
