import { CREDENTIAL_CASES, ENVELOPE_CASES, hostileBodyTable, SHAPE_CASES } from './hostile-bodies';

// The unauthenticated routes; the cases and the attacks they stand for are in hostile-bodies.ts.
hostileBodyTable([
  { path: '/register', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...CREDENTIAL_CASES] },
  { path: '/login', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...CREDENTIAL_CASES] },
]);
