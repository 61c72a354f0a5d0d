import type { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';
import type { DecisionSource } from '../pipeline/decision-layer.interface.js';

/**
 * One limit's part of a decision.
 *
 * @publicApi
 */
export interface LimitDecision {
  name: string;
  /** Whether this limit alone would let the request pass. */
  allowed: boolean;
  /** Capacity of the bucket. */
  limit: number;
  /** Whole tokens left after this decision. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** 0 when this limit passes; else milliseconds until it would; -1: never (cost > capacity). */
  retryAfterMs: number;
  /** Set when the limit is in shadow mode: it never denies; `allowed` says whether it would. */
  shadow?: true;
}

/**
 * The outcome of a consume or peek. A denial is a value, never an exception.
 *
 * @publicApi
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Capacity of the most restrictive limit. */
  limit: number;
  /** Whole tokens left in it after this decision. */
  remaining: number;
  /** Milliseconds until that bucket is full again. */
  resetMs: number;
  /** 0 when allowed; else milliseconds until this request would pass; -1: never. */
  retryAfterMs: number;
  limits: LimitDecision[];
  /**
   * Which layer answered: `'redis'` or `'memory'` (the store), `'deny-cache'` (a denial this
   * instance had proven), `'lease'` (tokens this instance had leased), `'block'` (a block set
   * with RateLimitService.block), or the failure strategy (`'fail-open'`, `'fail-closed'`,
   * `'local'`) when the store could not answer.
   */
  source: DecisionSource;
  /**
   * Set when the store failed or timed out and the failure strategy decided instead: 'open'
   * gives allowed = true, 'closed' allowed = false with retryAfterMs 1000, 'local' the decision
   * of this instance's share of the limits (see `failureStrategy`).
   */
  storeError?: RateLimitStoreError;
  /** Set with `storeError`: the failure strategy that decided. */
  failureStrategy?: FailureStrategy;
  /**
   * Set when only limits in shadow mode would have denied: the request passes (`allowed` is
   * true, `retryAfterMs` 0) and the `limits` entries with `allowed: false` say which.
   */
  shadow?: true;
}
