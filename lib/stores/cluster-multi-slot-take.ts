import type { Cluster } from 'ioredis';
import { runTokenBucketRefund } from '../algorithms/token-bucket-refund.script.js';
import { runTokenBucket } from '../algorithms/token-bucket.script.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';

/**
 * `take` over buckets in several Cluster slots (limits of one request keyed by different
 * identities), which no single script call can span. All-or-nothing is kept by charging slot by
 * slot and, when a later slot denies, giving the earlier slots their tokens back.
 *
 * Guarantee: never over-admits; a request passes only if every slot passed. The cost is
 * transient under-admission: between a charge and its refund (one round trip), a concurrent
 * request may find those tokens missing and be denied. A refund that fails (Redis gone) leaves the
 * tokens missing until they refill, which also errs on the side of denying.
 */
export async function takeAcrossSlots(
  client: Cluster,
  groups: readonly (readonly number[])[],
  keys: readonly string[],
  rules: readonly BucketRule[],
  costs: readonly number[],
  consume: boolean,
): Promise<number[]> {
  const reply = new Array<number>(keys.length * 3).fill(0);
  const pick = <T>(values: readonly T[], group: readonly number[]): T[] =>
    group.map((index) => values[index]!);
  const run = (group: readonly number[], charge: boolean) =>
    runTokenBucket(client, pick(keys, group), pick(rules, group), pick(costs, group), charge);
  const place = (group: readonly number[], groupReply: readonly number[]) =>
    group.forEach((index, i) => reply.splice(3 * index, 3, ...groupReply.slice(3 * i, 3 * i + 3)));

  if (!consume) {
    const replies = await Promise.all(groups.map((group) => run(group, false)));
    groups.forEach((group, g) => place(group, replies[g]!));
    return reply;
  }

  const charged: (readonly number[])[] = [];
  for (const [g, group] of groups.entries()) {
    const groupReply = await run(group, true);
    place(group, groupReply);
    if (group.every((_, i) => groupReply[3 * i + 2] === 0)) {
      charged.push(group);
      continue;
    }
    // Denied here: this slot wrote nothing; undo the earlier slots and judge the later ones.
    const rest = groups.slice(g + 1);
    const [refunds, peeks] = await Promise.all([
      Promise.all(
        charged.map((done) =>
          runTokenBucketRefund(client, pick(keys, done), pick(rules, done), pick(costs, done)),
        ),
      ),
      Promise.all(rest.map((later) => run(later, false))),
    ]);
    charged.forEach((done, d) =>
      done.forEach((index, i) =>
        reply.splice(3 * index, 3, refunds[d]![2 * i]!, refunds[d]![2 * i + 1]!, 0),
      ),
    );
    rest.forEach((later, r) => place(later, peeks[r]!));
    return reply;
  }
  return reply;
}
