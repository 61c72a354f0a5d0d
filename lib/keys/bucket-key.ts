/**
 * The part of a bucket key before the identity: `<keyPrefix><scope>:<name>:{`. The identity is
 * the Cluster hash tag, so all limits of one identity share a slot and one script call, while
 * distinct identities spread over the slots.
 */
export function bucketKeyHead(keyPrefix: string, scope: string, name: string): string {
  return `${keyPrefix}${scope}:${name}:{`;
}

/** `<keyPrefix><scope>:<name>:{<identity>}` */
export function bucketKey(head: string, identity: string): string {
  return `${head}${identity}}`;
}
