import * as tables from './schema';

export const schema = {
  users: tables.users,
  sessions: tables.sessions,
  recoveryCodes: tables.recoveryCodes,
  throttles: tables.throttles,
  signingKeys: tables.signingKeys,
  securityEvents: tables.securityEvents,
  passwordResets: tables.passwordResets,
};
