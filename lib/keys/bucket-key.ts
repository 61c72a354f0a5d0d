/**
 * The format of a bucket key, built and parsed here only:
 *
 *   <keyPrefix><scope>:<name>:{<identity>}
 *
 * The identity is the Cluster hash tag, so all limits of one identity share a slot and one script
 * call, while distinct identities spread over the slots. Scopes, names and prefixes cannot hold
 * braces (options/ checks them), and identities are made brace-free by toBucketIdentity.
 */

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
export function groupBySlot<T extends { readonly key: string }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tag = hashTag(item.key);
    const group = groups.get(tag);
    if (group === undefined) groups.set(tag, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}
