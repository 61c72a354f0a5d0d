/**
 * The part of a key Redis Cluster hashes to pick its slot: the text between the first `{` and
 * the next `}` when that is not empty, else the whole key (the rule of CLUSTER KEYSLOT).
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** Indices of `keys` grouped by hash tag, groups in order of first appearance. */
export function groupByHashTag(keys: readonly string[]): number[][] {
  const groups = new Map<string, number[]>();
  keys.forEach((key, index) => {
    const tag = hashTag(key);
    const group = groups.get(tag);
    if (group === undefined) groups.set(tag, [index]);
    else group.push(index);
  });
  return [...groups.values()];
}
