/**
 * The format of the module's Redis keys, built and parsed here only:
 *
 *   <keyPrefix><scope>:<name>:{<identity>}   a bucket
 *   <keyPrefix>{<identity>}:block            the identity's blocks (RateLimitService.block)
 *   <keyPrefix>{<identity>}:in-flight:<scope>:<name>   its slots under a concurrency limit
 *   <keyPrefix>{~fleet}:<name>               state of the whole fleet of instances
 *
 * The identity is the Cluster hash tag, so all limits of one identity and its blocks share a slot
 * and one script call, while distinct identities spread over the slots. Scopes, names and
 * prefixes cannot hold braces (options/ checks them), and identities are made brace-free by
 * toBucketIdentity. A block key has nothing between the prefix and its `{`, a bucket key always
 * has `<scope>:<name>:`, so the two never meet, and the SCAN pattern of an identity's buckets
 * (ending in `}`) leaves its blocks and its slots in flight alone: a reset must not forget the
 * requests still running. No identity holds `~`, so the fleet's slot is nobody's.
 */

/**
 * The block hash of an identity: field ALL_LIMITS, or a bucket key for a block of that limit
 * only, holding the block's end in Redis microseconds (bucket-script.lua reads it).
 */
export function blockKey(keyPrefix: string, identity: string): string {
  return `${keyPrefix}{${identity}}:block`;
}

/** The slots in flight of an identity under a concurrency limit (concurrency/in-flight.lua). */
export function slotsKey(keyPrefix: string, identity: string, scope: string, name: string): string {
  return `${keyPrefix}{${identity}}:in-flight:${scope}:${name}`;
}

/** The field of a block hash that blocks every limit of the identity. */
export const ALL_LIMITS = '*';

/** A key of the fleet's own state: the live instances, or the marker of active blocks. */
export function fleetKey(keyPrefix: string, name: 'instances' | 'blocks'): string {
  return `${keyPrefix}{~fleet}:${name}`;
}

/** The part of a bucket key before the identity, worked out once per limit. */
export function bucketKeyHead(keyPrefix: string, scope: string, name: string): string {
  return `${keyPrefix}${scope}:${name}:{`;
}

/** The key of one identity's bucket under a head from bucketKeyHead. */
export function bucketKey(head: string, identity: string): string {
  return `${head}${identity}}`;
}

/** Whether `key` is a bucket of `identity` under `keyPrefix` (any scope, any name). */
export function isKeyOf(key: string, keyPrefix: string, identity: string): boolean {
  return key.startsWith(keyPrefix) && key.endsWith(`{${identity}}`);
}

/** The SCAN pattern of every bucket of `identity` under `keyPrefix`. */
export function identityKeyPattern(keyPrefix: string, identity: string): string {
  return `${keyPrefix}*{${identity}}`;
}

/** The identity of a bucket key (its hash tag). */
export function identityOf(key: string): string {
  return hashTag(key);
}

/**
 * The part of a key Redis Cluster hashes to pick its slot: the text between the first `{` and
 * the next `}` when that is not empty, else the whole key (the rule of CLUSTER KEYSLOT).
 */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** Items grouped by their key's hash tag, groups in order of first appearance. */
export function groupBySlot<T extends { readonly key: string }>(items: readonly T[]): T[][];
/** Items grouped by the hash tag of `keyOf(item)`, groups in order of first appearance. */
export function groupBySlot<T>(items: readonly T[], keyOf: (item: T) => string): T[][];
export function groupBySlot<T>(
  items: readonly T[],
  keyOf: (item: T) => string = (item) => (item as { readonly key: string }).key,
): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tag = hashTag(keyOf(item));
    const group = groups.get(tag);
    if (group === undefined) groups.set(tag, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}
