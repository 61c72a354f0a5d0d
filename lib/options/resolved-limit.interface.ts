import type { ExecutionContext } from '@nestjs/common';
import type { BucketRule, LeaseSettings } from '../algorithms/algorithm.interface.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';
import type { ChargeOn, FailureStrategy, PerRequest, Refill } from './limit-options.interface.js';

export type { LeaseSettings };

/** A per-request limit's capacity and refill as written: each a value or a function. */
export interface PerRequestValues {
  readonly capacity: number | PerRequest<number>;
  /** Undefined for a window, which has no refill. */
  readonly refill: Refill | PerRequest<Refill> | undefined;
}

/** A limit after parsing: every field set, its rule ready for the store. */
export type ResolvedLimit = BucketRule & ResolvedLimitSettings;

/** What a resolved limit holds beside its rule. */
interface ResolvedLimitSettings {
  readonly name: string;
  /** Seconds to refill from empty, or of the window, rounded up (the `w` of RateLimit-Policy). */
  readonly windowSeconds: number;
  /** Undefined: the module's keyBy. */
  readonly identity: IdentityResolver | undefined;
  readonly cost: number | ((context: ExecutionContext) => number | Promise<number>);
  /** Undefined: '<Controller>.<handler>' of the route (or 'service'). */
  readonly scope: string | undefined;
  readonly failureStrategy: FailureStrategy | undefined;
  readonly when: ((context: ExecutionContext) => boolean | Promise<boolean>) | undefined;
  readonly lease: LeaseSettings | undefined;
  /**
   * Set when capacity or refill is a function of the request: the guard works out the limit in
   * force per request (options/resolve-limits.ts `resolveLimitInForce`), and until then the
   * values those functions give are NaN here. Undefined: a static limit, judged as it is.
   */
  readonly perRequest: PerRequestValues | undefined;
  /** Undefined: the module's `shadow`. */
  readonly shadow: boolean | undefined;
  readonly chargeOn: ChargeOn;
}
