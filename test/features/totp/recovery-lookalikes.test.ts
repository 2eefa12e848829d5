import { afterEach, describe, expect, it } from 'vitest';
import { recoveryCodeInput } from '../../../src/http/schemas';
import { call, decodeJwtPayload, enrolledUser, loginUser, useRealTime } from '../../helpers';
import { T0, type Verified } from './support';

afterEach(useRealTime);

/**
 * Lock-out by typography (API.md, Recovery codes): a person reading a code
 * off paper types 0 for O, 1 for I, 8 for B, and a word processor turns the
 * dash into an en dash or a minus sign. The base32 alphabet (RFC 4648 §6) has
 * none of 0, 1, 8, so each can only mean its letter; refusing them would lock
 * the owner out at the moment the second factor is lost.
 */
describe('recovery code input reads look-alikes as the only letter they can mean', () => {
  it('0, 1, 8 read as O, I, B; any Unicode dash, the minus sign and blanks are dropped; ASCII case ignored', () => {
    const read = (text: string) => recoveryCodeInput.parse(text);
    expect(read('0I8AA-BBBBB')).toBe('OIBAABBBBB');
    expect(read('01832-abcde')).toBe('OIB32ABCDE');
    for (const dash of ['\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2E3A', '\uFE58', '\uFE63', '\uFF0D', '\u2212', '\u30A0']) {
      expect([dash.codePointAt(0), read(`abcde${dash}fghij`)]).toEqual([dash.codePointAt(0), 'ABCDEFGHIJ']);
    }
    for (const blank of [' ', '\t', '\u00A0', '\u2009', '\u3000']) expect(read(`ab cde${blank}fg hij`)).toBe('ABCDEFGHIJ');
    expect(read('--abc--de--fghij--')).toBe('ABCDEFGHIJ');
  });

  it('non-ASCII look-alike letters and digits that are not 0, 1 or 8 stay refused', () => {
    for (const bad of ['ABCDE-FGH9J', 'ΑBCDE-FGHIJ' /* Greek Alpha */, 'AВCDE-FGHIJ' /* Cyrillic Ve */, 'ABCDE-FGH\u0131J', 'ABCDE-FGH\uFF11J' /* fullwidth 1 */, 'ABCDE\u200BFGHIJ']) {
      expect([bad, recoveryCodeInput.safeParse(bad).success]).toEqual([bad, false]);
    }
  });

  it('through /otp-verify: a real code typed with 0, 1, 8 and an en dash or minus sign is accepted, once', async () => {
    const user = await enrolledUser(T0 + 4005);
    const misTyped = (code: string, dash: string) =>
      code.replace(/O/g, '0').replace(/I/g, '1').replace(/B/g, '8').replace('-', dash).toLowerCase();
    for (const [index, dash] of [[0, '\u2013'], [1, '\u2212'], [2, ' \u2014 ']] as const) {
      const code = user.recoveryCodes[index]!;
      const pwd = await loginUser(user.username);
      const used = await call<Verified>('/otp-verify', { token: pwd.token, json: { recoveryCode: misTyped(code, dash) } });
      expect(used.status, used.text).toBe(200);
      expect(decodeJwtPayload(used.body.token)).toMatchObject({ sub: user.id, amr: ['pwd', 'rec'] });
      // The same code in its printed form is now spent.
      const again = await call('/otp-verify', { token: (await loginUser(user.username)).token, json: { recoveryCode: code } });
      expect(again.status).toBe(401);
    }
  });
});
