import { Logger } from '@nestjs/common';
import { ForwardingLayer } from './forwarding.layer.js';
import type { BucketResult } from '../algorithms/algorithm.interface.js';
import { RateLimitConfigError } from '../errors/rate-limit-config.error.js';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import { FAIL_CLOSED_RETRY_AFTER_MS, REPEATED_LOG_INTERVAL_MS } from '../options/defaults.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { MemoryRateLimitStore } from '../stores/memory.store.js';
import { ThrottledLogger } from '../throttled-logger.js';
import type { DecisionLayer, Take, TakeQuery } from './decision-layer.interface.js';

/** What the failure strategy layer needs of the module options. */
interface FailureSettings {
  readonly keyPrefix: string;
  /** Instances sharing the limits: 'local' enforces 1/instances of each. */
  readonly instances: number;
  /** Bounds the buckets of 'local'. */
  readonly memoryStoreMaxKeys: number;
}

/**
 * Turns a store failure into the request's failure strategy, so that this layer and those
 * above it never reject a take for a store failure: 'open' allows, 'closed' denies with a retry
 * after 1 s, 'local' judges the request in this process's memory against its share of every
 * limit (capacity and refill divided by `instances`), so a fleet keeps roughly its global limit.
 * The local buckets are created on the first failure that needs them: an app whose Redis never
 * fails pays nothing. Failures are logged at once, then at most every 30 s with a count of those
 * held back. A RateLimitConfigError (an algorithm this Redis is too old for) is no store failure
 * and rejects.
 */
export class FailureStrategyLayer extends ForwardingLayer {
  private readonly log = new ThrottledLogger(
    new Logger(RATE_LIMIT_LOG_CONTEXT),
    REPEATED_LOG_INTERVAL_MS,
  );
  private local: MemoryRateLimitStore | undefined;

  constructor(
    inner: DecisionLayer,
    private readonly settings: FailureSettings,
  ) {
    super(inner);
  }

  override take(query: TakeQuery): Promise<Take> {
    return this.inner.take(query).catch((error: unknown) => this.fail(query, error));
  }

  override async close(): Promise<void> {
    await this.local?.close();
    this.local = undefined;
    await this.inner.close();
  }

  private fail(query: TakeQuery, error: unknown): Promise<Take> {
    // A limit this store cannot judge (an algorithm that needs a newer Redis) is an error, as a
    // bad limit is: no strategy may let its requests through unjudged.
    if (error instanceof RateLimitConfigError) return Promise.reject(error);
    const storeError =
      error instanceof RateLimitStoreError
        ? error
        : new RateLimitStoreError('error', `Rate limit store failed: ${String(error)}`, {
            cause: error,
          });
    const { failureStrategy } = query;
    this.log.warn(
      () =>
        `${this.description} store failed for key prefix '${this.settings.keyPrefix}': ` +
        `${storeError.message}; failing ${failureStrategy}`,
    );
    if (failureStrategy === 'open') {
      return Promise.resolve({
        results: query.requests.map(({ rule }) => verdict(rule.capacity, rule.capacity, 0)),
        source: 'fail-open',
        storeError,
      });
    }
    if (failureStrategy === 'closed') {
      return Promise.resolve({
        results: query.requests.map(({ rule }) =>
          verdict(rule.capacity, 0, FAIL_CLOSED_RETRY_AFTER_MS),
        ),
        source: 'fail-closed',
        storeError,
      });
    }
    const { instances, memoryStoreMaxKeys } = this.settings;
    this.local ??= new MemoryRateLimitStore(memoryStoreMaxKeys);
    const shares = query.requests.map((request) => ({
      key: request.key,
      rule: request.rule.algorithm.share(request.rule, instances),
      cost: request.cost,
    }));
    return this.local
      .take({ ...query, requests: shares, mode: query.mode === 'peek' ? 'peek' : 'consume' })
      .then(({ results }) => ({ results, source: 'local', storeError }));
  }
}

function verdict(limit: number, remaining: number, retryAfterMs: number): BucketResult {
  return { limit, remaining, resetMs: 0, retryAfterMs, granted: 0 };
}
