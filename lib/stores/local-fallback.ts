import type { BucketRule } from '../options/resolved-limit.interface.js';
import { type Clock, systemClock } from './clock.js';
import { MemoryRateLimitStore } from './memory.store.js';

/**
 * The buckets of `failureStrategy: 'local'`: while the store is unavailable, each instance
 * judges requests in its own memory against its share of every limit, capacity and refill
 * divided by the module's `instances`, so the fleet as a whole keeps roughly the global limit.
 * Created on the first failure that needs it: an app whose Redis never fails pays nothing.
 */
export class LocalFallback {
  private store: MemoryRateLimitStore | undefined;
  private readonly shares = new WeakMap<readonly BucketRule[], readonly BucketRule[]>();

  constructor(
    private readonly instances: number,
    private readonly maxKeys: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** This instance's share of each rule: what it enforces and reports while deciding alone. */
  share(rules: readonly BucketRule[]): readonly BucketRule[] {
    let shared = this.shares.get(rules);
    if (shared === undefined) {
      shared = rules.map((rule) => shareOf(rule, this.instances));
      this.shares.set(rules, shared);
    }
    return shared;
  }

  /** The store's reply layout, judged against `share(rules)`. */
  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): number[] {
    this.store ??= new MemoryRateLimitStore(this.maxKeys, this.clock);
    return this.store.takeNow(keys, this.share(rules), costs, consume);
  }

  close(): void {
    this.store?.onModuleDestroy();
    this.store = undefined;
  }
}

/**
 * Capacity rounds down (never above the global burst in sum) but stays at least one token, so
 * a limit smaller than the fleet still lets each instance serve; refill divides exactly.
 */
function shareOf(rule: BucketRule, instances: number): BucketRule {
  return {
    capacity: Math.max(1, Math.floor(rule.capacity / instances)),
    usPerToken: rule.usPerToken * instances,
  };
}
