import { CODE_CASES, DISABLE_CASES, ENVELOPE_CASES, hostileBodyTable, LOGOUT_CASES, SHAPE_CASES, WEBAUTHN_VERIFY_CASES } from './hostile-bodies';

// The routes behind a bearer token; the cases and the attacks they stand for are in hostile-bodies.ts.
hostileBodyTable([
  { path: '/otp-verify', token: 'pwd', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...CODE_CASES] },
  { path: '/disable-otp', token: 'full', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...DISABLE_CASES] },
  { path: '/logout', token: 'full', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...LOGOUT_CASES] },
  { path: '/webauthn/login/verify', token: 'pwd', cases: [...ENVELOPE_CASES, ...SHAPE_CASES, ...WEBAUTHN_VERIFY_CASES] },
  // These take no body, but one that cannot be read is still refused first.
  { path: '/create-otp', token: 'pwd', cases: ENVELOPE_CASES },
  { path: '/recovery-codes', token: 'full', cases: ENVELOPE_CASES },
]);
