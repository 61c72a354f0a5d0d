import type { BucketResult, BucketRule, DecisionLayer } from 'nest-redis-rate-limit';
import { tokenBucket } from '../../lib/algorithms/token-bucket/token-bucket.js';

/** A token-bucket rule as options/ resolves it. */
export function tokenBucketRule(capacity: number, usPerToken: number): BucketRule {
  return { algorithm: tokenBucket, capacity, usPerToken };
}

/** Results as flat [remaining, resetMs, retryAfterMs] triples, the layout the tests' tables use. */
export function flatten(results: readonly BucketResult[]): number[] {
  return results.flatMap(({ remaining, resetMs, retryAfterMs }) => [
    remaining,
    resetMs,
    retryAfterMs,
  ]);
}

/** One take over token buckets `{ capacity, usPerToken }`, answered as flat triples. */
export async function takeFlat(
  layer: DecisionLayer,
  keys: readonly string[],
  buckets: readonly { readonly capacity: number; readonly usPerToken: number }[],
  costs: readonly number[],
  consume: boolean,
): Promise<number[]> {
  const take = await layer.take({
    requests: keys.map((key, i) => ({
      key,
      rule: tokenBucketRule(buckets[i]!.capacity, buckets[i]!.usPerToken),
      cost: costs[i]!,
    })),
    mode: consume ? 'consume' : 'peek',
    failureStrategy: 'open',
  });
  return flatten(take.results);
}
