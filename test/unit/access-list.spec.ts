import type { RateLimitModuleOptions } from 'nest-redis-rate-limit';
import { RateLimitConfigError } from '../../lib/errors/rate-limit-config.error.js';
import { hashIdentity } from '../../lib/keys/bucket-identity.js';
import type { HttpRequestLike } from '../../lib/keys/http-request.interface.js';
import { AccessList, listVerdict } from '../../lib/lists/access-list.js';
import { OptionReader } from '../../lib/options/option-reader.js';
import { resolveModuleOptions } from '../../lib/options/resolve-module-options.js';

function list(entries: readonly string[]): AccessList {
  const read = new OptionReader();
  const parsed = AccessList.parse('denyList', entries, read);
  expect(read.problems).toEqual([]);
  return parsed!;
}

const from = (ip: string): HttpRequestLike => ({ ip });
const denied = (entries: readonly string[], ip: string, identities: readonly string[] = []) =>
  listVerdict({ allowList: undefined, denyList: list(entries) }, from(ip), identities) === 'deny';

describe('allowList and denyList entries', () => {
  it('match IPv4 addresses and CIDR ranges, host bits of an entry ignored', () => {
    const entries = ['203.0.113.7', '10.0.0.0/8', '192.168.1.77/24', '0.0.0.0/0'];
    expect(denied(entries.slice(0, 3), '203.0.113.7')).toBe(true);
    expect(denied(entries.slice(0, 3), '203.0.113.8')).toBe(false);
    expect(denied(entries.slice(0, 3), '10.255.3.4')).toBe(true);
    expect(denied(entries.slice(0, 3), '11.0.0.1')).toBe(false);
    expect(denied(entries.slice(0, 3), '192.168.1.200')).toBe(true);
    expect(denied(entries.slice(0, 3), '192.168.2.1')).toBe(false);
    expect(denied(entries, '8.8.8.8')).toBe(true);
  });

  it('match IPv6 addresses and ranges in any spelling, with a zone or not', () => {
    const entries = ['2001:db8::/32', '2001:0DB9:0000::1', 'fe80::/10'];
    expect(denied(entries, '2001:db8:ffff::1')).toBe(true);
    expect(denied(entries, '2001:db9::1')).toBe(true);
    expect(denied(entries, '2001:db9::2')).toBe(false);
    expect(denied(entries, 'fe80::1%eth0')).toBe(true);
    expect(denied(entries, '2001:dba::1')).toBe(false);
    expect(denied(entries, '203.0.113.7')).toBe(false);
  });

  it('treat an IPv4-mapped IPv6 address or range as the IPv4 one', () => {
    expect(denied(['198.51.100.0/24'], '::ffff:198.51.100.9')).toBe(true);
    expect(denied(['::ffff:198.51.100.0/120'], '198.51.100.9')).toBe(true);
    expect(denied(['::ffff:198.51.100.0/120'], '198.51.101.9')).toBe(false);
    expect(denied(['::ffff:c633:6409'], '198.51.100.9')).toBe(true);
  });

  it('accept ip: in front, as keys write IP identities (an IPv6 one with its /64)', () => {
    expect(denied(['ip:203.0.113.7'], '203.0.113.7')).toBe(true);
    expect(denied(['ip:2001:db8:1:2:0:0:0:0/64'], '2001:db8:1:2:aaaa::1')).toBe(true);
    expect(denied(['ip:2001:db8:1:2:0:0:0:0/64'], '2001:db8:1:3::1')).toBe(false);
  });

  it('match identities exactly against the identities of the limits', () => {
    const entries = ['user:42', 'tenant-7'];
    expect(denied(entries, '203.0.113.7', ['ip:203.0.113.7', 'user:42'])).toBe(true);
    expect(denied(entries, '203.0.113.7', ['user:420'])).toBe(false);
    expect(denied(entries, '203.0.113.7', ['tenant-7'])).toBe(true);
  });

  it('hash an apiKey: entry into the key:<sha256> the apiKey identity uses', () => {
    const hashed = `key:${hashIdentity('secret-key')}`;
    expect(denied(['apiKey:secret-key'], '203.0.113.7', [hashed])).toBe(true);
    expect(denied([hashed], '203.0.113.7', [hashed])).toBe(true);
    expect(denied(['apiKey:other'], '203.0.113.7', [hashed])).toBe(false);
  });

  it('let the deny list win over the allow list', () => {
    const lists = { allowList: list(['10.0.0.0/8']), denyList: list(['user:42']) };
    expect(listVerdict(lists, from('10.1.1.1'), ['user:42'])).toBe('deny');
    expect(listVerdict(lists, from('10.1.1.1'), ['user:43'])).toBe('allow');
    expect(listVerdict(lists, from('11.1.1.1'), ['user:43'])).toBeUndefined();
  });

  it('name each bad entry in one RateLimitConfigError', () => {
    const problems = (options: RateLimitModuleOptions): readonly string[] => {
      try {
        resolveModuleOptions(options);
      } catch (error) {
        if (error instanceof RateLimitConfigError) return error.problems;
      }
      return [];
    };
    expect(
      problems({
        denyList: ['10.0.0.0/33', '2001:db8::/129', '300.1.2.3', 'ip:user:42', '10.0.0.0/x'],
        allowList: ['', 'apiKey:'],
      }),
    ).toEqual([
      'allowList[0] must be a non-empty string (got "")',
      "allowList[1] 'apiKey:': an apiKey: entry needs the key after the colon",
      "denyList[0] '10.0.0.0/33': prefix length must be an integer from 0 to 32",
      "denyList[1] '2001:db8::/129': prefix length must be an integer from 0 to 128",
      "denyList[2] '300.1.2.3': is not a valid IPv4 or IPv6 address or CIDR range",
      "denyList[3] 'ip:user:42': is not a valid IPv4 or IPv6 address or CIDR range",
      "denyList[4] '10.0.0.0/x': prefix length must be an integer from 0 to 32",
    ]);
    expect(() => resolveModuleOptions({ denyList: '10.0.0.0/8' as never })).toThrow(
      'denyList must be an array of IP addresses, CIDR ranges and identities (got "10.0.0.0/8")',
    );
  });
});
