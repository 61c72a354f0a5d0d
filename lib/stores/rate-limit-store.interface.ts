import type { BucketRule } from '../options/resolved-limit.interface.js';

/**
 * Where buckets live. Both stores judge with the same token bucket; a store never decides by
 * the failure strategy itself, it rejects with RateLimitStoreError and the engine decides.
 *
 * @publicApi
 */
export interface RateLimitStore {
  /**
   * All-or-nothing over the buckets: consumes `costs[i]` from bucket `keys[i]` for every i iff
   * every bucket holds its cost (when `consume`; a peek writes nothing). Resolves the flat reply:
   * per bucket [remaining, resetMs, retryAfterMs], retryAfterMs 0 when that bucket passes and -1
   * when its cost exceeds its capacity.
   */
  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): Promise<number[]>;
  /**
   * Like a consuming `take` that, when the request passes, also takes up to `extras[i]` more
   * whole tokens from each bucket for the caller to spend locally (token leasing). Resolves per
   * bucket [remaining, resetMs, retryAfterMs, granted]. Stores that cannot lease leave it out.
   */
  lease?(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    extras: readonly number[],
  ): Promise<number[]>;
  /** Gives leased tokens back to their buckets (never beyond full). */
  refund?(
    keys: readonly string[],
    rules: readonly BucketRule[],
    tokens: readonly number[],
  ): Promise<void>;
  /** Deletes buckets (they are full again). */
  reset(keys: readonly string[]): Promise<void>;
  /** Deletes every bucket whose key matches `<prefix>*{<identity>}`. */
  resetIdentity(keyPrefix: string, identity: string): Promise<void>;
  /** Human-readable kind, for logs. */
  readonly description: string;
}

/** Injection token of the active store; shares its name with the interface. */
export const RateLimitStore = Symbol('RateLimitStore');
