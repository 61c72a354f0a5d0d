import { Injectable } from '@nestjs/common';
import type { ConcurrencyDecision } from './concurrency/in-flight-slots.js';
import {
  type ResolvedConcurrencyLimit,
  resolveConcurrencyLimit,
} from './concurrency/resolve-concurrency-limit.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { RateLimitConfigError } from './errors/rate-limit-config.error.js';
import { bucketRequests, planRoute, type RoutePlan } from './guard/route-plan.js';
import { toBucketIdentity } from './keys/bucket-identity.js';
import { bucketKey } from './keys/bucket-key.js';
import { MAX_BLOCK_MS } from './options/defaults.js';
import type { AcquireOptions } from './options/concurrency-limit-options.interface.js';
import type { LimitOptions } from './options/limit-options.interface.js';
import { resolveLimits } from './options/resolve-limits.js';
import type { ResolvedLimit } from './options/resolved-limit.interface.js';
import { RateLimitEngine } from './rate-limit.engine.js';

/** Scope of limits used through the service that name none. */
const SERVICE_SCOPE = 'service';

type LimitsArgument = LimitOptions | readonly LimitOptions[];

/**
 * Rate limiting outside HTTP routes (jobs, websockets, your own guards), on the same store and
 * with the same semantics as the guard. `key` is the identity: to share a route's bucket, pass
 * the route's identity (`ip:1.2.3.4`, `user:42`) and its `scope`. A limits object is planned once
 * and frozen (deeply) on first use, so that a later change cannot leave a stale plan behind:
 * build a new object to use other limits.
 *
 * @example
 * ```ts
 * const decision = await rateLimit.consume(`user:${userId}`, { capacity: 5, refill: '5/min' });
 * // TooManyRequestsException takes whole seconds
 * if (!decision.allowed) throw new TooManyRequestsException(Math.ceil(decision.retryAfterMs / 1000));
 * ```
 * @publicApi
 */
@Injectable()
export class RateLimitService {
  private readonly plans = new WeakMap<object, ServicePlan>();
  private readonly slotLimits = new WeakMap<object, ResolvedConcurrencyLimit>();

  constructor(private readonly engine: RateLimitEngine) {}

  /** Takes `cost` (default: each limit's own cost) from every limit's bucket, all or nothing. */
  consume(key: string, limits: LimitsArgument, cost?: number): Promise<RateLimitDecision> {
    return this.decide('consume', key, limits, cost);
  }

  /**
   * Takes a slot of an in-flight limit for `key` (see ConcurrencyLimitOptions): allowed while
   * fewer than `max` slots are held, across every instance. Release it in a `finally` once the
   * work is done; a slot whose holder died frees when its lease ends. Never rejects on a store
   * failure: the limit's failure strategy decides, as for `consume`. Options objects are
   * parsed once and frozen, like limits.
   *
   * @example
   * ```ts
   * const slot = await rateLimit.acquire(`tenant:${tenantId}`, { max: 4, scope: 'reports' });
   * if (!slot.allowed) throw new TooManyRequestsException(Math.ceil(slot.retryAfterMs / 1000));
   * try {
   *   return await reports.build(tenantId);
   * } finally {
   *   await slot.release();
   * }
   * ```
   */
  async acquire(key: string, options: AcquireOptions): Promise<ConcurrencyDecision> {
    const identity = toBucketIdentity(checkKey(key, 'acquire'));
    let limit = this.slotLimits.get(options);
    if (limit === undefined) {
      const where = 'RateLimitService.acquire';
      const cacheable = typeof options === 'object' && options !== null;
      if (cacheable && 'keyBy' in options) {
        throw new RateLimitConfigError(where, [
          'keyBy is not an option of acquire: the key argument is the identity',
        ]);
      }
      limit = resolveConcurrencyLimit(options, where);
      if (cacheable) this.slotLimits.set(deepFreeze(options), limit);
    }
    return this.engine.acquireSlot(identity, limit, limit.scope ?? SERVICE_SCOPE);
  }

  /** The decision a request of cost 1 would get now; consumes nothing. */
  peek(key: string, limits: LimitsArgument): Promise<RateLimitDecision> {
    return this.decide('peek', key, limits, 1);
  }

  /**
   * Gives `cost` (default: each limit's own cost) back to every limit's bucket, for a call that
   * turned out not to count: never beyond full, and a bucket that is full (absent) stays as it
   * is. Rejects with RateLimitStoreError when the store cannot be reached: the tokens then stay
   * taken until they refill. On routes, `chargeOn` does this for you.
   *
   * @example
   * ```ts
   * const decision = await rateLimit.consume(`user:${userId}`, EXPORTS);
   * if (!decision.allowed) throw new TooManyRequestsException(Math.ceil(decision.retryAfterMs / 1000));
   * const started = await exports.start(userId);
   * if (!started) await rateLimit.refund(`user:${userId}`, EXPORTS); // nothing was done
   * ```
   */
  async refund(key: string, limits: LimitsArgument, cost?: number): Promise<void> {
    const identity = toBucketIdentity(checkKey(key, 'refund'));
    const plan = this.plan(limits, 'refund');
    if (plan.needsRequest) refuseRequestFunctions(plan, 'refund', cost);
    checkCost(cost, 'refund');
    const costs = plan.limits.map(({ limit }) => cost ?? fixedCost(limit));
    await this.engine.refund(
      bucketRequests(
        plan,
        plan.limits.map(() => identity),
        costs,
      ),
    );
  }

  /**
   * Refills the key's buckets: those of `limits`, or without limits every bucket of the key
   * under this module's prefix (a SCAN on Redis, bounded by `timeoutMs`: fine for admin use,
   * not per request).
   */
  async reset(key: string, limits?: LimitsArgument): Promise<void> {
    const identity = toBucketIdentity(checkKey(key, 'reset'));
    if (limits === undefined) {
      await this.engine.resetIdentity(this.engine.options.keyPrefix, identity);
      return;
    }
    await this.engine.reset(this.bucketKeys(identity, limits, 'reset'));
  }

  /**
   * Blocks the key for `durationMs` on `limits` (their buckets, named as `consume` names them:
   * give a route's limit its `scope` to block it there) or, without limits, on every limit of
   * the key, routes included. Every instance then denies it there, with a retry (Retry-After)
   * of the block's remaining time, until the block ends or `unblock` lifts it; a second block
   * replaces the first. Rejects with RateLimitStoreError when Redis cannot be written.
   *
   * @example
   * ```ts
   * await rateLimit.block('user:42', 15 * 60_000); // every limit of user 42, for 15 minutes
   * ```
   */
  async block(key: string, durationMs: number, limits?: LimitsArgument): Promise<void> {
    const identity = toBucketIdentity(checkKey(key, 'block'));
    if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs > MAX_BLOCK_MS) {
      throw new RateLimitConfigError('RateLimitService.block', [
        `durationMs must be an integer from 1 to ${MAX_BLOCK_MS} (got ${String(durationMs)})`,
      ]);
    }
    const keys = limits === undefined ? undefined : this.bucketKeys(identity, limits, 'block');
    await this.engine.blocks.block(identity, keys, durationMs);
  }

  /**
   * Lifts the key's blocks on `limits` or, without limits, every block of the key. Lifting some
   * limits leaves a block of every limit in place. Other instances forget the block within a
   * second. Rejects with RateLimitStoreError when Redis cannot be written.
   */
  async unblock(key: string, limits?: LimitsArgument): Promise<void> {
    const identity = toBucketIdentity(checkKey(key, 'unblock'));
    const keys = limits === undefined ? undefined : this.bucketKeys(identity, limits, 'unblock');
    await this.engine.blocks.unblock(identity, keys);
  }

  /** The key's buckets of `limits`. */
  private bucketKeys(identity: string, limits: LimitsArgument, method: string): string[] {
    return this.plan(limits, method).limits.map(({ keyHead }) => bucketKey(keyHead, identity));
  }

  private decide(
    method: 'consume' | 'peek',
    key: string,
    limits: LimitsArgument,
    cost: number | undefined,
  ): Promise<RateLimitDecision> {
    try {
      const identity = toBucketIdentity(checkKey(key, method));
      const plan = this.plan(limits, method);
      if (plan.needsRequest) refuseRequestFunctions(plan, method, cost);
      checkCost(cost, method);
      const costs = plan.limits.map(({ limit }) => cost ?? fixedCost(limit));
      const identities = plan.limits.map(() => identity);
      const decided = this.engine.decide(plan.names, {
        requests: bucketRequests(plan, identities, costs),
        mode: method,
        failureStrategy: plan.failureStrategy,
      });
      // A peek admits nothing: only consumes are decisions for metrics and events.
      if (method === 'peek') return decided;
      return decided.then((decision) => {
        this.engine.observe({ scope: SERVICE_SCOPE, limits: plan.limits, identities, decision });
        return decision;
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Everything about a limits argument that does not depend on the call, worked out once. */
  private plan(limits: LimitsArgument, method: string): ServicePlan {
    const cacheable = typeof limits === 'object' && limits !== null;
    const cached = cacheable ? this.plans.get(limits) : undefined;
    if (cached !== undefined) return cached;
    const resolved = resolveLimits(limits, `RateLimitService.${method}`);
    const plan: ServicePlan = {
      ...planRoute(resolved, SERVICE_SCOPE, this.engine.options),
      needsRequest: resolved.some(
        (limit) =>
          typeof limit.cost === 'function' ||
          limit.when !== undefined ||
          limit.perRequest !== undefined,
      ),
    };
    if (cacheable) this.plans.set(deepFreeze(limits), plan);
    return plan;
  }
}

interface ServicePlan extends RoutePlan {
  /** Some limit has a cost, capacity or refill function or `when`, which need a request. */
  readonly needsRequest: boolean;
}

/**
 * A service call has no request: a limit's `when`, capacity and refill functions cannot be asked,
 * nor its cost function unless the call gives a cost. A reset needs none of them.
 */
function refuseRequestFunctions(plan: RoutePlan, method: string, cost: number | undefined): void {
  const problems = plan.limits.flatMap(({ limit }) => [
    ...(cost === undefined && typeof limit.cost === 'function'
      ? [`limit '${limit.name}': a cost function needs a request; pass cost to ${method}() instead`]
      : []),
    ...(limit.when !== undefined
      ? [`limit '${limit.name}': when needs a request; call the service only when it applies`]
      : []),
    ...(limit.perRequest !== undefined
      ? [
          `limit '${limit.name}': a capacity or refill function needs a request; work out the values first and give them as numbers`,
        ]
      : []),
  ]);
  if (problems.length > 0) throw new RateLimitConfigError(`RateLimitService.${method}`, problems);
}

function checkCost(cost: number | undefined, method: string): void {
  if (cost !== undefined && (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0)) {
    throw new RateLimitConfigError(`RateLimitService.${method}`, [
      `cost must be a finite number >= 0 (got ${String(cost)})`,
    ]);
  }
}

/** A limit's own cost; a cost function never reaches here (plan() refuses it). */
function fixedCost(limit: ResolvedLimit): number {
  return typeof limit.cost === 'number' ? limit.cost : 1;
}

/** Freezes the limits and the plain objects inside them (refill, lease), not functions. */
function deepFreeze<T extends object>(value: T): T {
  for (const field of Object.values(value)) {
    if (typeof field === 'object' && field !== null && !Object.isFrozen(field)) deepFreeze(field);
  }
  return Object.freeze(value);
}

function checkKey(key: unknown, method: string): string {
  if (typeof key !== 'string') {
    throw new RateLimitConfigError(`RateLimitService.${method}`, [
      `key must be a string (got ${typeof key})`,
    ]);
  }
  return key;
}
