import { normalizeIp } from '../../lib/keys/normalize-ip.js';

describe('normalizeIp', () => {
  it('keeps IPv4 as it is', () => {
    expect(normalizeIp('203.0.113.7', 64)).toBe('203.0.113.7');
  });

  it.each(['::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:102:304', '0:0:0:0:0:ffff:1.2.3.4'])(
    'turns the IPv4-mapped %s into 1.2.3.4',
    (address) => {
      expect(normalizeIp(address, 64)).toBe('1.2.3.4');
    },
  );

  it('groups IPv6 addresses of one /64 into one identity', () => {
    const a = normalizeIp('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64);
    const b = normalizeIp('2001:db8:1:2::1', 64);
    expect(a).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(b).toBe(a);
  });

  it('keeps neighbouring /64s apart', () => {
    expect(normalizeIp('2001:db8:1:3::1', 64)).not.toBe(normalizeIp('2001:db8:1:2::1', 64));
  });

  it('masks inside a group for prefixes that are not multiples of 16', () => {
    expect(normalizeIp('2001:db8:abcd:ffff::1', 56)).toBe('2001:db8:abcd:ff00:0:0:0:0/56');
    expect(normalizeIp('2001:db8:abcd:ffff::1', 48)).toBe('2001:db8:abcd:0:0:0:0:0/48');
  });

  it('keeps every bit with a /128 and drops the zone', () => {
    expect(normalizeIp('fe80::1%eth0', 128)).toBe('fe80:0:0:0:0:0:0:1/128');
  });

  it('writes one form for every spelling of an address', () => {
    expect(normalizeIp('2001:DB8:0:0:1::', 64)).toBe(normalizeIp('2001:db8::1:0:0:0', 64));
  });

  it('returns what is not an IP unchanged', () => {
    expect(normalizeIp('unknown', 64)).toBe('unknown');
  });
});
