import { Injectable } from '@nestjs/common';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { RateLimitConfigError } from './errors/rate-limit-config.error.js';
import { toBucketIdentity } from './keys/bucket-identity.js';
import { bucketKey, bucketKeyHead } from './keys/bucket-key.js';
import { mostProtective } from './options/failure-strategy.js';
import type { FailureStrategy, LimitOptions } from './options/limit-options.interface.js';
import type { LeaseSettings, ResolvedLimit } from './options/resolved-limit.interface.js';
import { leasesOf } from './lease/leases-of.js';
import { resolveLimits } from './options/resolve-limits.js';
import { RateLimitEngine } from './rate-limit.engine.js';

/** Scope of limits used through the service that name none. */
export const SERVICE_SCOPE = 'service';

/**
 * Rate limiting outside HTTP routes (jobs, websockets, your own guards), on the same store and
 * with the same semantics as the guard. `key` is the identity: to share a route's bucket, pass
 * the route's identity (`ip:1.2.3.4`, `user:42`) and its `scope`.
 *
 * @example
 * ```ts
 * const decision = await rateLimit.consume(`user:${userId}`, { capacity: 5, refill: '5/min' });
 * if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);
 * ```
 * @publicApi
 */
@Injectable()
export class RateLimitService {
  private readonly plans = new WeakMap<object, ServicePlan>();

  constructor(private readonly engine: RateLimitEngine) {}

  /** Takes `cost` (default: each limit's own cost) from every limit's bucket, all or nothing. */
  consume(
    key: string,
    limits: LimitOptions | readonly LimitOptions[],
    cost?: number,
  ): Promise<RateLimitDecision> {
    return this.run('consume', key, limits, cost, true);
  }

  /** The decision a request of cost 1 would get now; consumes nothing. */
  peek(key: string, limits: LimitOptions | readonly LimitOptions[]): Promise<RateLimitDecision> {
    return this.run('peek', key, limits, 1, false);
  }

  /**
   * Refills the key's buckets: those of `limits`, or without limits every bucket of the key
   * under this module's prefix (a SCAN on Redis: fine for admin use, not per request).
   */
  async reset(key: string, limits?: LimitOptions | readonly LimitOptions[]): Promise<void> {
    const identity = toBucketIdentity(checkKey(key, 'reset'));
    const { keyPrefix } = this.engine.options;
    if (limits === undefined) {
      await this.engine.resetIdentity(keyPrefix, identity);
      return;
    }
    const resolved = this.resolve(limits, 'reset');
    await this.engine.reset(
      resolved.map((limit) =>
        bucketKey(bucketKeyHead(keyPrefix, limit.scope ?? SERVICE_SCOPE, limit.name), identity),
      ),
    );
  }

  private run(
    method: 'consume' | 'peek',
    key: string,
    limits: LimitOptions | readonly LimitOptions[],
    cost: number | undefined,
    consume: boolean,
  ): Promise<RateLimitDecision> {
    try {
      const identity = toBucketIdentity(checkKey(key, method));
      const plan = this.plan(limits, method);
      if (cost !== undefined && (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0)) {
        throw new RateLimitConfigError(`RateLimitService.${method}`, [
          `cost must be a finite number >= 0 (got ${String(cost)})`,
        ]);
      }
      return this.engine.decide({
        keys: plan.keyHeads.map((head) => bucketKey(head, identity)),
        names: plan.names,
        rules: plan.rules,
        costs: cost === undefined ? plan.costs : plan.rules.map(() => cost),
        consume,
        failureStrategy: plan.failureStrategy,
        leases: plan.leases,
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Everything about a limits argument that does not depend on the call, worked out once. */
  private plan(limits: LimitOptions | readonly LimitOptions[], method: string): ServicePlan {
    const cacheable = typeof limits === 'object' && limits !== null;
    const cached = cacheable ? this.plans.get(limits) : undefined;
    if (cached !== undefined) return cached;
    const rules = this.resolve(limits, method);
    const { keyPrefix, failureStrategy } = this.engine.options;
    const plan: ServicePlan = {
      keyHeads: rules.map((limit) =>
        bucketKeyHead(keyPrefix, limit.scope ?? SERVICE_SCOPE, limit.name),
      ),
      names: rules.map((limit) => limit.name),
      rules,
      costs: rules.map((limit) => limit.cost as number),
      leases: leasesOf(rules),
      failureStrategy: mostProtective(
        rules.map((limit) => limit.failureStrategy ?? failureStrategy),
      ),
    };
    if (cacheable) this.plans.set(limits, plan);
    return plan;
  }

  private resolve(
    limits: LimitOptions | readonly LimitOptions[],
    method: string,
  ): readonly ResolvedLimit[] {
    const where = `RateLimitService.${method}`;
    const resolved = resolveLimits(limits, where);
    const problems = resolved.flatMap((limit) => [
      ...(typeof limit.cost === 'function'
        ? [
            `limit '${limit.name}': a cost function needs a request; pass cost to ${method}() instead`,
          ]
        : []),
      ...(limit.when !== undefined
        ? [`limit '${limit.name}': when needs a request; call the service only when it applies`]
        : []),
    ]);
    if (problems.length > 0) throw new RateLimitConfigError(where, problems);
    return resolved;
  }
}

interface ServicePlan {
  readonly keyHeads: readonly string[];
  readonly names: readonly string[];
  readonly rules: readonly ResolvedLimit[];
  readonly costs: readonly number[];
  readonly failureStrategy: FailureStrategy;
  readonly leases: readonly LeaseSettings[] | undefined;
}

function checkKey(key: unknown, method: string): string {
  if (typeof key !== 'string') {
    throw new RateLimitConfigError(`RateLimitService.${method}`, [
      `key must be a string (got ${typeof key})`,
    ]);
  }
  return key;
}
