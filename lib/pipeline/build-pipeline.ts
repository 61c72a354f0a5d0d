import { Logger } from '@nestjs/common';
import type { ResolvedModuleOptions } from '../options/resolved-module-options.interface.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import { MemoryRateLimitStore } from '../stores/memory.store.js';
import { createClient, describeConnection } from '../stores/redis-client.js';
import { RedisRateLimitStore } from '../stores/redis.store.js';
import type { RateLimitStore } from '../stores/rate-limit-store.interface.js';
import { BreakerLayer } from './breaker.layer.js';
import type { DecisionLayer } from './decision-layer.interface.js';
import { DenyCacheLayer } from './deny-cache.layer.js';
import { FailureStrategyLayer } from './failure-strategy.layer.js';
import { LeaseLayer } from './lease.layer.js';
import { type StoreCallRecorder, StoreTimingLayer } from './store-timing.layer.js';

/** The assembled pipeline: its top, which answers every decision, and the parts others observe. */
export interface Pipeline {
  readonly top: DecisionLayer;
  /** Where decisions are made, for the start-up log line (never a password). */
  readonly location: string;
  readonly store: RateLimitStore;
  readonly breaker: BreakerLayer | undefined;
}

/**
 * Assembles the decision pipeline from the resolved options; the one place that knows its
 * order, from the top:
 *
 *   deny cache → lease → failure strategy → circuit breaker → store
 *
 * - The deny cache answers first: a request it proves denied spends no leased token and costs
 *   no round trip, even during an outage. It learns only from the store's own answers.
 * - Leased tokens are spent above the failure strategy, so they still serve during an outage;
 *   a lease top-up that fails is answered by the strategy and grants nothing.
 * - The failure strategy sees the breaker's refusals as failures, so an open circuit costs no
 *   timeout. Below it every failure rejects; above it nothing does.
 * - The deny cache, leasing and the breaker are for Redis; the memory store is local already.
 * - With metrics on, a timing layer sits directly on the Redis store: it sees every round
 *   trip and none of the calls the breaker refuses.
 */
export function buildPipeline(
  options: ResolvedModuleOptions,
  logger?: Logger,
  storeCalls?: StoreCallRecorder,
): Pipeline {
  const log = logger ?? new Logger(RATE_LIMIT_LOG_CONTEXT);
  const { redis } = options;
  if (redis === undefined) {
    const store = new MemoryRateLimitStore(options.memoryStoreMaxKeys);
    return {
      top: new FailureStrategyLayer(store, options),
      location: 'the in-process memory store, which limits this process only (no redis configured)',
      store,
      breaker: undefined,
    };
  }
  const store =
    redis.kind === 'client'
      ? new RedisRateLimitStore(redis.client, false, options.timeoutMs, options.readyWaitMs)
      : new RedisRateLimitStore(
          createClient(redis, log),
          true,
          options.timeoutMs,
          options.readyWaitMs,
        );
  const timed =
    options.metrics && storeCalls !== undefined ? new StoreTimingLayer(store, storeCalls) : store;
  const breaker =
    options.circuitBreaker === false ? undefined : new BreakerLayer(timed, options.circuitBreaker);
  let top: DecisionLayer = new FailureStrategyLayer(breaker ?? timed, options);
  top = new LeaseLayer(top, options.memoryStoreMaxKeys);
  if (options.denyCache !== false) top = new DenyCacheLayer(top, options.denyCache.maxKeys);
  return { top, location: describeConnection(redis), store, breaker };
}
