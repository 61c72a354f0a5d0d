import type { ExecutionContext } from '@nestjs/common';
import type { FailureStrategy } from './limit-options.interface.js';
import type { IdentityResolver } from '../keys/identity-resolver.js';

/** The rule a store needs for one bucket; immutable and shared by every request of a route. */
export interface BucketRule {
  /** Bucket size in tokens. */
  readonly capacity: number;
  /** Time for one token to return, in microseconds. */
  readonly usPerToken: number;
}

/** A limit after validation: every field set, refill in microseconds per token. */
export interface ResolvedLimit extends BucketRule {
  readonly name: string;
  /** Seconds to refill from empty, rounded up (the `w` of RateLimit-Policy). */
  readonly windowSeconds: number;
  /** Undefined: the module's keyBy. */
  readonly identity: IdentityResolver | undefined;
  readonly cost: number | ((context: ExecutionContext) => number | Promise<number>);
  /** Undefined: '<Controller>.<handler>' of the route (or 'service'). */
  readonly scope: string | undefined;
  readonly failureStrategy: FailureStrategy | undefined;
  readonly when: ((context: ExecutionContext) => boolean | Promise<boolean>) | undefined;
  readonly lease: LeaseSettings | undefined;
}

/** Token leasing of one limit, validated. */
export interface LeaseSettings {
  /** Tokens an instance takes from Redis at once, beyond the request's own cost. */
  readonly tokens: number;
  /** How long leased tokens may be spent locally before the rest goes back to Redis. */
  readonly ttlMs: number;
}
