import { CREDENTIAL_CASES, ENVELOPE_CASES, hostileBodyTable, LOGIN_ONLY_CASES, REGISTER_ONLY_CASES, SHAPE_CASES } from './hostile-bodies';

// The unauthenticated routes; the cases and the attacks they stand for are in hostile-bodies.ts.
hostileBodyTable([
  { path: '/register', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...CREDENTIAL_CASES, ...REGISTER_ONLY_CASES] },
  { path: '/login', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...CREDENTIAL_CASES, ...LOGIN_ONLY_CASES] },
]);
