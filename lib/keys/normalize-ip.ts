import { isIPv4, isIPv6 } from 'node:net';

/**
 * Canonical form of a client address for use as an identity: an IPv4-mapped IPv6 address becomes
 * plain IPv4, and an IPv6 address is cut to its first `ipv6Subnet` bits, written as 8 full
 * groups plus the prefix length, because one client owns a whole /64 and could otherwise rotate
 * through billions of fresh buckets.
 */
export function normalizeIp(address: string, ipv6Subnet: number): string {
  if (isIPv4(address)) return address;
  const zoneless = address.split('%', 1)[0] ?? address;
  if (!isIPv6(zoneless)) return address;
  const groups = ipv6Groups(zoneless);
  if (isIpv4Mapped(groups)) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  const masked = maskIpv6(groups, ipv6Subnet);
  return `${masked.map((group) => group.toString(16)).join(':')}/${ipv6Subnet}`;
}

/** The groups of an IPv6 address with every bit after the first `bits` cleared. */
export function maskIpv6(groups: readonly number[], bits: number): number[] {
  return groups.map((group, index) => {
    const bitsBefore = index * 16;
    if (bitsBefore + 16 <= bits) return group;
    if (bitsBefore >= bits) return 0;
    return group & (0xffff << (16 - (bits - bitsBefore)));
  });
}

/** Whether the groups of an IPv6 address are an IPv4-mapped one (`::ffff:a.b.c.d`). */
export function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

/** The 8 16-bit groups of a valid IPv6 address (`::` expanded, a trailing IPv4 part converted). */
export function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const headGroups = parse(head);
  if (rest === undefined) return headGroups;
  const restGroups = parse(rest);
  const zeros = new Array<number>(8 - headGroups.length - restGroups.length).fill(0);
  return [...headGroups, ...zeros, ...restGroups];
}
