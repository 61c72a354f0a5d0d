import type { BucketRequest } from '../algorithms/algorithm.interface.js';
import { type HeadersMode, policyHeader } from '../http/rate-limit-headers.js';
import { bucketKey, bucketKeyHead } from '../keys/bucket-key.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';
import { mostProtective } from '../options/failure-strategy.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';
import type { ResolvedModuleOptions } from '../options/resolved-module-options.interface.js';

/** One limit of a route, with everything that does not depend on the request worked out. */
export interface PlannedLimit {
  readonly limit: ResolvedLimit;
  readonly keyHead: string;
  readonly identity: IdentityResolver;
  readonly failureStrategy: FailureStrategy;
  /** Judged and reported, never denying (the limit's `shadow`, else the module's). */
  readonly shadow: boolean;
}

/** What the guard does for a route, computed once per handler and reused by every request. */
export interface RoutePlan {
  /** `<Controller>.<handler>` (`'service'` for RateLimitService): for logs, metrics and events. */
  readonly route: string;
  readonly limits: readonly PlannedLimit[];
  /** Some limit has `when`: the applicable set is chosen per request. */
  readonly conditional: boolean;
  readonly names: readonly string[];
  readonly policy: string;
  /** Which rate-limit headers its responses carry (@RateLimitHeaders, else the module's). */
  readonly headers: HeadersMode;
  /** Some limit's capacity or refill is a function: the limits in force are worked out per request. */
  readonly perRequest: boolean;
  /** Of the enforced limits (a shadow limit never denies), or of the shadow ones when all are. */
  readonly failureStrategy: FailureStrategy;
  /** Every limit leases: requests carry their lease, for the lease layer. */
  readonly leases: boolean;
}

export function planRoute(
  limits: readonly ResolvedLimit[],
  defaultScope: string,
  options: ResolvedModuleOptions,
  headers: HeadersMode = options.headers,
): RoutePlan {
  return planLimits(
    limits.map((limit) => ({
      limit,
      keyHead: bucketKeyHead(options.keyPrefix, limit.scope ?? defaultScope, limit.name),
      identity: limit.identity ?? options.identity,
      failureStrategy: limit.failureStrategy ?? options.failureStrategy,
      shadow: limit.shadow ?? options.shadow,
    })),
    headers,
    defaultScope,
  );
}

/** The plan of a subset of a route's limits (those whose `when` holds for a request). */
export function planLimits(
  limits: readonly PlannedLimit[],
  headers: HeadersMode,
  route: string,
): RoutePlan {
  const rules = limits.map((planned) => planned.limit);
  return {
    route,
    limits,
    conditional: rules.some((limit) => limit.when !== undefined),
    names: rules.map((limit) => limit.name),
    policy: policyHeader(rules),
    headers,
    perRequest: rules.some((limit) => limit.perRequest !== undefined),
    failureStrategy: mostProtective(
      (limits.some((planned) => !planned.shadow)
        ? limits.filter((planned) => !planned.shadow)
        : limits
      ).map((planned) => planned.failureStrategy),
    ),
    leases: rules.every((limit) => limit.lease !== undefined),
  };
}

/** The buckets of one request under a plan, given each limit's identity and cost. */
export function bucketRequests(
  plan: RoutePlan,
  identities: readonly string[],
  costs: readonly number[],
): BucketRequest[] {
  return plan.limits.map(({ limit, keyHead, shadow }, i) => {
    const request = {
      key: bucketKey(keyHead, identities[i] ?? ''),
      rule: limit,
      cost: costs[i] ?? 0,
    };
    const leased =
      plan.leases && limit.lease !== undefined ? { ...request, lease: limit.lease } : request;
    return shadow ? { ...leased, shadow: true as const } : leased;
  });
}
