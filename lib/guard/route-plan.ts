import { policyHeader } from '../http/rate-limit-headers.js';
import { bucketKeyHead } from '../keys/bucket-key.js';
import { mostProtective } from '../options/failure-strategy.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { LeaseSettings, ResolvedLimit } from '../options/resolved-limit.interface.js';
import { leasesOf } from '../lease/leases-of.js';
import type { ResolvedModuleOptions } from '../options/resolved-module-options.interface.js';

/** One limit of a route, with everything that does not depend on the request worked out. */
export interface PlannedLimit {
  readonly limit: ResolvedLimit;
  readonly keyHead: string;
  readonly identity: IdentityResolver;
  readonly failureStrategy: FailureStrategy;
}

/** What the guard does for a route, computed once per handler and reused by every request. */
export interface RoutePlan {
  readonly limits: readonly PlannedLimit[];
  /** Some limit has `when`: the applicable set is chosen per request. */
  readonly conditional: boolean;
  readonly names: readonly string[];
  readonly rules: readonly ResolvedLimit[];
  /** Costs when every limit's cost is a number; undefined when some cost is a function. */
  readonly fixedCosts: readonly number[] | undefined;
  readonly policy: string;
  readonly failureStrategy: FailureStrategy;
  /** Every limit's lease, when all of them lease. */
  readonly leases: readonly LeaseSettings[] | undefined;
}

export function planRoute(
  limits: readonly ResolvedLimit[],
  defaultScope: string,
  options: ResolvedModuleOptions,
): RoutePlan {
  return planLimits(
    limits.map((limit) => ({
      limit,
      keyHead: bucketKeyHead(options.keyPrefix, limit.scope ?? defaultScope, limit.name),
      identity: limit.identity ?? options.identity,
      failureStrategy: limit.failureStrategy ?? options.failureStrategy,
    })),
  );
}

/** The plan of a subset of a route's limits (those whose `when` holds for a request). */
export function planLimits(limits: readonly PlannedLimit[]): RoutePlan {
  const rules = limits.map((planned) => planned.limit);
  return {
    limits,
    conditional: rules.some((limit) => limit.when !== undefined),
    names: rules.map((limit) => limit.name),
    rules,
    fixedCosts: rules.every((limit) => typeof limit.cost === 'number')
      ? rules.map((limit) => limit.cost as number)
      : undefined,
    policy: policyHeader(rules),
    failureStrategy: mostProtective(limits.map((planned) => planned.failureStrategy)),
    leases: leasesOf(rules),
  };
}
