import type { BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import {
  allPassed,
  type DecisionLayer,
  type Take,
  type TakeQuery,
} from '../pipeline/decision-layer.interface.js';

/** Which requests are in shadow mode, or undefined when none is (the usual case). */
export function shadowFlags(requests: readonly BucketRequest[]): readonly boolean[] | undefined {
  let flags: boolean[] | undefined;
  requests.forEach((request, i) => {
    if (request.shadow !== true) return;
    flags ??= requests.map(() => false);
    flags[i] = true;
  });
  return flags;
}

/**
 * The take of a request whose limits are partly in shadow mode. One script call is all or
 * nothing, so a shadow limit judged with the enforced ones would, by denying, keep them from
 * being charged. The enforced limits are taken first; then the shadow limits, charged only when
 * the enforced ones passed (as if they were enforced too) and else peeked, so that their numbers
 * are still reported. Source and store error are the enforced take's: it decides. When the
 * shadow take rejects, the enforced charges are given back and the decision rejects as a whole.
 */
export async function takeWithShadow(
  layer: DecisionLayer,
  query: TakeQuery,
  shadow: readonly boolean[],
): Promise<Take> {
  const enforced = query.requests.filter((_, i) => shadow[i] !== true);
  const shadowed = query.requests.filter((_, i) => shadow[i] === true);
  const first = await layer.take({ ...query, requests: enforced });
  const charged = query.mode !== 'peek' && allPassed(first.results);
  const second = await layer
    .take({ ...query, requests: shadowed, mode: charged ? query.mode : 'peek' })
    .catch(async (error: unknown) => {
      // A shadow limit that cannot be judged (RateLimitConfigError: an algorithm this Redis is
      // too old for) fails the decision as an enforced one would; the enforced limits must then
      // not stay charged for a request that is refused.
      if (charged) await layer.refund(enforced).catch(() => undefined);
      throw error;
    });
  let nextEnforced = 0;
  let nextShadow = 0;
  const results: BucketResult[] = query.requests.map((_, i) =>
    shadow[i] === true ? second.results[nextShadow++]! : first.results[nextEnforced++]!,
  );
  return first.storeError === undefined
    ? { results, source: first.source }
    : { results, source: first.source, storeError: first.storeError };
}
