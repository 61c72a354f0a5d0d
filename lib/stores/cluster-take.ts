import type { Cluster } from 'ioredis';
import type { BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import { runBucketScript } from '../algorithms/bucket-script.js';
import { allPassed } from '../pipeline/decision-layer.interface.js';

/**
 * A take over buckets in several Cluster slots (limits of one request keyed by different
 * identities), which no single script call can span. All-or-nothing is kept by charging slot by
 * slot and, when a later slot denies, giving the earlier slots their tokens back.
 *
 * Guarantee: never over-admits; a request passes only if every slot passed, and a slot whose
 * call fails undoes the earlier slots' charges too. The cost is
 * transient under-admission: between a charge and its refund (one round trip), a concurrent
 * request may find those tokens missing and be denied. A refund that fails (Redis gone) leaves the
 * tokens missing until they refill, which also errs on the side of denying. Leasing does not
 * span slots: such a request just consumes.
 */
export async function takeAcrossSlots(
  client: Cluster,
  slots: readonly (readonly BucketRequest[])[],
  requests: readonly BucketRequest[],
  consume: boolean,
  blockPrefix?: string,
): Promise<BucketResult[]> {
  const answered = new Map<BucketRequest, BucketResult>();
  const place = (group: readonly BucketRequest[], results: readonly BucketResult[]): void =>
    group.forEach((request, i) => answered.set(request, results[i]!));
  const inOrder = (): BucketResult[] => requests.map((request) => answered.get(request)!);

  if (!consume) {
    const peeks = await Promise.all(
      slots.map((group) => runBucketScript(client, group, 'peek', blockPrefix)),
    );
    slots.forEach((group, g) => place(group, peeks[g]!));
    return inOrder();
  }
  const charged: (readonly BucketRequest[])[] = [];
  for (const [g, group] of slots.entries()) {
    let results: BucketResult[];
    try {
      results = await runBucketScript(client, group, 'consume', blockPrefix);
    } catch (error) {
      // The request fails (its failure strategy, or a configuration error, decides): as when a
      // single call fails, it leaves nothing charged, so the earlier slots get their tokens back.
      // A refund that fails too leaves them taken: under-admission, as above.
      await Promise.allSettled(charged.map((done) => runBucketScript(client, done, 'refund')));
      throw error;
    }
    place(group, results);
    if (allPassed(results)) {
      charged.push(group);
      continue;
    }
    // Denied here: this slot wrote nothing; undo the earlier slots and judge the later ones.
    const later = slots.slice(g + 1);
    const [refunds, peeks] = await Promise.all([
      Promise.all(charged.map((done) => runBucketScript(client, done, 'refund'))),
      Promise.all(later.map((rest) => runBucketScript(client, rest, 'peek', blockPrefix))),
    ]);
    charged.forEach((done, d) => place(done, refunds[d]!));
    later.forEach((rest, r) => place(rest, peeks[r]!));
    break;
  }
  return inOrder();
}
