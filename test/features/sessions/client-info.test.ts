import { describe, expect, it } from 'vitest';
import { truncateIp } from '../../../src/http/middleware/client-info';
import { decodeCursor, encodeCursor } from '../../../src/features/self-service/security-log';
import { deriveAesGcmKey } from '../../../src/crypto/keys';

describe('truncateIp', () => {
  it('keeps the /24 of IPv4 and the /48 of IPv6', () => {
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0/24');
    expect(truncateIp('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(truncateIp('2001:0DB8:0000:0012:0000:0000:0000:0001')).toBe('2001:db8:0::/48');
    expect(truncateIp('::1')).toBe('0:0:0::/48');
    expect(truncateIp('fe80::')).toBe('fe80:0:0::/48');
    expect(truncateIp('::ffff:192.0.2.1')).toBe('0:0:0::/48');
  });

  it('anything else is null, never stored as given', () => {
    for (const raw of [null, undefined, '', 'unknown', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::1', '<script>', ' 1.2.3.4x']) {
      expect(truncateIp(raw), String(raw)).toBeNull();
    }
  });
});

describe('event cursors', () => {
  it('round-trip, and refuse anything they did not make', async () => {
    const key = await deriveAesGcmKey('a test secret of at least thirty-two characters', 'edge-mfa log cursor v1');
    const cursor = await encodeCursor(key, 'user-a', { at: 1_800_000_000, seq: 42 });
    expect(await decodeCursor(key, 'user-a', cursor)).toEqual({ at: 1_800_000_000, seq: 42 });
    for (const text of ['', 'bm9wZQ', '!!!', btoa('1.2.3'), btoa('-1.2'), 'A'.repeat(65), btoa('1800000000.42').replace(/=+$/, '')]) {
      expect(await decodeCursor(key, 'user-a', text), text).toBeNull();
    }
    // Sealed to its owner: another user's id does not open it.
    expect(await decodeCursor(key, 'user-b', cursor)).toBeNull();
  });
});
