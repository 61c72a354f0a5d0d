import { isIPv4, isIPv6 } from 'node:net';
import { ForbiddenException } from '@nestjs/common';
import { hashIdentity, toBucketIdentity } from '../keys/bucket-identity.js';
import type { HttpRequestLike } from '../keys/http-request.interface.js';
import { ipv6Groups, isIpv4Mapped, maskIpv6 } from '../keys/normalize-ip.js';
import type { OptionReader } from '../options/option-reader.js';
import type { RateLimitTransport } from '../transports/transport.interface.js';

/** A client address, IPv4-mapped IPv6 already turned into IPv4. */
type Address = { readonly v4: number } | { readonly v6: readonly number[] };

/** One parsed list entry. */
type Entry =
  | { readonly kind: 'v4'; readonly length: number; readonly network: number }
  | { readonly kind: 'v6'; readonly length: number; readonly network: string }
  | { readonly kind: 'identity'; readonly identity: string };

/** Something meant as an address: dotted digits, or hex with at least two colons. */
const ADDRESS_LIKE = /^(?:\d+(?:\.\d+){1,3}|[\da-f]*:[\da-f]*:[\da-f:.]*)(?:%[\w.-]+)?$/i;

/**
 * An `allowList` or `denyList`, parsed once at start. Entries are IPv4 and IPv6 addresses and
 * CIDR ranges (`203.0.113.0/24`, `2001:db8::/32`; `ip:` in front is allowed, so identities as
 * keys write them can be pasted), matched against the client's address, and identities
 * (`user:42`, `key:<sha256>`, a keyBy function's result), matched exactly against the identity
 * of each limit of the request. `apiKey:<key>` lists an API key by its hash: the entry is hashed
 * here into the `key:<sha256>` the 'apiKey' identity uses, so only the hash stays in memory.
 *
 * Matching costs one Set lookup per distinct prefix length, however many ranges the list holds.
 */
export class AccessList {
  private constructor(
    /** Prefix length → networks (the address with the host bits cleared), IPv4 as uint32. */
    private readonly v4: ReadonlyMap<number, ReadonlySet<number>>,
    /** Prefix length → networks as their masked groups joined by ':'. */
    private readonly v6: ReadonlyMap<number, ReadonlySet<string>>,
    private readonly identities: ReadonlySet<string>,
  ) {}

  /**
   * The list of an option value, undefined for none (or an empty list); each bad entry is
   * recorded in `read` with its index and text.
   */
  static parse(path: string, value: unknown, read: OptionReader): AccessList | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      read.fail(path, 'must be an array of IP addresses, CIDR ranges and identities', value);
      return undefined;
    }
    const v4 = new Map<number, Set<number>>();
    const v6 = new Map<number, Set<string>>();
    const identities = new Set<string>();
    value.forEach((raw: unknown, index) => {
      if (typeof raw !== 'string' || raw.trim() === '') {
        read.fail(`${path}[${index}]`, 'must be a non-empty string', raw);
        return;
      }
      const entry = parseEntry(raw.trim());
      if (typeof entry === 'string') {
        read.problems.push(`${path}[${index}] '${raw}': ${entry}`);
      } else if (entry.kind === 'identity') {
        identities.add(entry.identity);
      } else if (entry.kind === 'v4') {
        add(v4, entry.length, entry.network);
      } else {
        add(v6, entry.length, entry.network);
      }
    });
    if (v4.size + v6.size + identities.size === 0) return undefined;
    return new AccessList(v4, v6, identities);
  }

  /** Whether the address or one of the identities is on the list. */
  matches(address: Address | undefined, identities: readonly string[]): boolean {
    if (this.identities.size > 0) {
      for (const identity of identities) if (this.identities.has(identity)) return true;
    }
    if (address === undefined) return false;
    if ('v4' in address) {
      for (const [length, networks] of this.v4) {
        if (networks.has(maskV4(address.v4, length))) return true;
      }
      return false;
    }
    for (const [length, networks] of this.v6) {
      if (networks.has(maskV6(address.v6, length))) return true;
    }
    return false;
  }

  /** Whether the list needs the client's address (it holds addresses or ranges). */
  get hasAddresses(): boolean {
    return this.v4.size + this.v6.size > 0;
  }
}

/** The lists of the module options, as the guard consults them. */
export interface AccessLists {
  readonly allowList: AccessList | undefined;
  readonly denyList: AccessList | undefined;
}

/**
 * What the lists say of a request: 'deny' when its address or one of its identities is on the
 * deny list (whatever the allow list says), else 'allow' when on the allow list, else undefined.
 * Decided here, without the store.
 */
export function listVerdict(
  lists: AccessLists,
  request: HttpRequestLike,
  identities: readonly string[],
): 'allow' | 'deny' | undefined {
  const { allowList, denyList } = lists;
  if (allowList === undefined && denyList === undefined) return undefined;
  const address =
    (allowList?.hasAddresses ?? false) || (denyList?.hasAddresses ?? false)
      ? parseAddress(request.ip ?? request.socket?.remoteAddress)
      : undefined;
  if (denyList?.matches(address, identities) === true) return 'deny';
  if (allowList?.matches(address, identities) === true) return 'allow';
  return undefined;
}

/**
 * Applies the lists to a call about to be limited: true when its limits are skipped (allowed),
 * false when they apply; a denied call is refused with the transport's 403.
 */
export async function passesLists(
  lists: AccessLists,
  request: HttpRequestLike,
  identities: readonly string[],
  transport: RateLimitTransport,
): Promise<boolean> {
  const verdict = listVerdict(lists, request, identities);
  if (verdict === 'deny') throw await (transport.forbidden?.() ?? new ForbiddenException());
  return verdict === 'allow';
}

function add<T>(ranges: Map<number, Set<T>>, length: number, network: T): void {
  let networks = ranges.get(length);
  if (networks === undefined) {
    networks = new Set();
    ranges.set(length, networks);
  }
  networks.add(network);
}

/** An entry, or why it is not one. */
function parseEntry(text: string): Entry | string {
  if (text.startsWith('apiKey:')) {
    const key = text.slice('apiKey:'.length);
    return key === ''
      ? 'an apiKey: entry needs the key after the colon'
      : { kind: 'identity', identity: `key:${hashIdentity(key)}` };
  }
  const explicit = text.startsWith('ip:');
  const range = explicit ? text.slice('ip:'.length) : text;
  const slash = range.lastIndexOf('/');
  const host = slash === -1 ? range : range.slice(0, slash);
  if (!explicit && !ADDRESS_LIKE.test(host)) {
    return { kind: 'identity', identity: toBucketIdentity(text) };
  }
  const address = parseAddress(host);
  if (address === undefined) return 'is not a valid IPv4 or IPv6 address or CIDR range';
  const mapped = 'v4' in address && !isIPv4(host);
  const bits = 'v4' in address && !mapped ? 32 : 128;
  const prefix = slash === -1 ? String(bits) : range.slice(slash + 1);
  const length = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (!(length >= 0 && length <= bits)) return `prefix length must be an integer from 0 to ${bits}`;
  if ('v4' in address) {
    // An IPv4-mapped range (`::ffff:a.b.c.d/n`) is the IPv4 range of its last 32 bits.
    const v4Length = mapped ? Math.max(0, length - 96) : length;
    return { kind: 'v4', length: v4Length, network: maskV4(address.v4, v4Length) };
  }
  return { kind: 'v6', length, network: maskV6(address.v6, length) };
}

/** A textual address (zone dropped), or undefined when it is none. */
function parseAddress(text: string | undefined): Address | undefined {
  if (text === undefined) return undefined;
  if (isIPv4(text)) return { v4: ipv4Value(text) };
  const zoneless = text.split('%', 1)[0] ?? text;
  if (!isIPv6(zoneless)) return undefined;
  const groups = ipv6Groups(zoneless);
  if (isIpv4Mapped(groups)) return { v4: (((groups[6] ?? 0) << 16) | (groups[7] ?? 0)) >>> 0 };
  return { v6: groups };
}

function ipv4Value(text: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function maskV4(value: number, length: number): number {
  return length === 0 ? 0 : (value & (0xffffffff << (32 - length))) >>> 0;
}

function maskV6(groups: readonly number[], length: number): string {
  return maskIpv6(groups, length).join(':');
}
