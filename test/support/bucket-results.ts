import type {
  BucketRequest,
  BucketResult,
  BucketRule,
} from '../../lib/algorithms/algorithm.interface.js';
import type { BucketReply } from '../../lib/algorithms/algorithm.cases.js';
import type { FailureStrategy } from '../../lib/options/limit-options.interface.js';
import type { TakeQuery } from '../../lib/pipeline/decision-layer.interface.js';

export type { BucketReply };

/** A result as the stores used to reply per bucket: [remaining, resetMs, retryAfterMs]. */
export function replyOf(result: BucketResult): BucketReply {
  return [result.remaining, result.resetMs, result.retryAfterMs];
}

export function repliesOf(results: readonly BucketResult[]): BucketReply[] {
  return results.map(replyOf);
}

/** The result a store gives as the triple `reply`, for a bucket of capacity `limit`. */
export function resultOf(
  [remaining, resetMs, retryAfterMs]: BucketReply,
  limit: number,
  granted = 0,
): BucketResult {
  return { limit, remaining, resetMs, retryAfterMs, granted };
}

/** Whether a request with these results is denied: some bucket does not pass. */
export function deniedBy(results: readonly BucketResult[]): boolean {
  return results.some((result) => result.retryAfterMs !== 0);
}

/** The buckets of one call: `keys[i]` under `rules[i]` at `costs[i]`. */
export function requestsOf(
  keys: readonly string[],
  rules: readonly BucketRule[],
  costs: readonly number[],
): BucketRequest[] {
  return keys.map((key, i) => ({ key, rule: rules[i]!, cost: costs[i]! }));
}

/** A take query over `requests`: consume (the old `consume: true`) or peek. */
export function queryOf(
  requests: readonly BucketRequest[],
  consume: boolean,
  failureStrategy: FailureStrategy = 'open',
): TakeQuery {
  return { requests, mode: consume ? 'consume' : 'peek', failureStrategy };
}
