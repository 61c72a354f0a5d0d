import type { BucketRequest, BucketResult } from '../algorithms/algorithm.interface.js';
import type { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { FailureStrategy } from '../options/limit-options.interface.js';

/**
 * Which layer answered a decision: the store itself (`'redis'`, `'memory'`), this instance's
 * deny cache or leased tokens, the failure strategy when the store could not answer, or a block
 * of the identity (`'block'`, RateLimitService.block) found in Redis or known to this instance.
 *
 * @publicApi
 */
export type DecisionSource =
  'redis' | 'memory' | 'deny-cache' | 'lease' | 'fail-open' | 'fail-closed' | 'local' | 'block';

/** One decision's question: its buckets, whether it writes, and what to do if the store fails. */
export interface TakeQuery {
  readonly requests: readonly BucketRequest[];
  /** 'lease' is 'consume' that also takes each request's `extra` tokens (the lease layer's). */
  readonly mode: 'consume' | 'peek' | 'lease';
  /** The most protective strategy of the request's limits. */
  readonly failureStrategy: FailureStrategy;
  /**
   * Set by the block layer while blocks may exist: the key prefix under which the store reads
   * each bucket's block (keys/bucket-key.ts) in the same call, denying blocked buckets.
   */
  readonly blockPrefix?: string;
}

/** A layer's answer: one result per request, in order, and who gave it. */
export interface Take {
  readonly results: readonly BucketResult[];
  readonly source: DecisionSource;
  /** Set when the failure strategy decided: why the store could not. */
  readonly storeError?: RateLimitStoreError;
}

/**
 * The one shape of the decision pipeline: every store and every layer (blocks and the failure
 * strategy, always; the deny cache, leasing, the circuit breaker, the instance registry and store
 * timing, for Redis, as configured) has it, and a layer wraps the next one.
 * pipeline/build-pipeline.ts assembles them. Only the failure strategy layer resolves when the
 * store fails; below it, a failure rejects with RateLimitStoreError.
 */
export interface DecisionLayer {
  /** All-or-nothing over the requests' buckets (a peek writes nothing). */
  take(query: TakeQuery): Promise<Take>;
  /** Gives `cost` tokens back to each request's bucket (never beyond full; absent: no effect). */
  refund(requests: readonly BucketRequest[]): Promise<void>;
  /** Deletes buckets (they are full again). */
  reset(keys: readonly string[]): Promise<void>;
  /** Deletes every bucket of an identity under a key prefix. */
  resetIdentity(keyPrefix: string, identity: string): Promise<void>;
  /** Releases what the layer holds (timers, leased tokens, the store's client), once, at shutdown. */
  close(): Promise<void>;
  /** Human-readable kind of the store at the bottom, for logs. */
  readonly description: string;
}

/**
 * Checks a take against the one rule every layer relies on: a request passes iff each of its
 * buckets passes.
 */
export function allPassed(results: readonly BucketResult[]): boolean {
  for (const result of results) if (result.retryAfterMs !== 0) return false;
  return true;
}
