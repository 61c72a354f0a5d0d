import { Logger } from '@nestjs/common';
import { BlockLayer } from '../blocks/block.layer.js';
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
import { InstanceRegistry } from './instance-registry.layer.js';
import { LeaseLayer } from './lease.layer.js';
import { type StoreCallRecorder, StoreTimingLayer } from './store-timing.layer.js';

/** The assembled pipeline: its top, which answers every decision, and the parts others observe. */
export interface Pipeline {
  readonly top: DecisionLayer;
  /** Where decisions are made, for the start-up log line (never a password). */
  readonly location: string;
  readonly store: RateLimitStore;
  readonly breaker: BreakerLayer | undefined;
  /** The top layer, which also sets and lifts blocks. */
  readonly blocks: BlockLayer;
  /** Instances sharing the limits: `instances`, or with 'auto' those alive now. */
  readonly instances: () => number;
}

/**
 * Assembles the decision pipeline from the resolved options; the one place that knows its
 * order, from the top:
 *
 *   blocks → deny cache → lease → failure strategy → (instance registry) → circuit breaker → store
 *
 * - Blocks this instance knows are answered before anything else: a blocked client spends no
 *   leased token and costs no round trip, even during an outage. The blocks it does not know,
 *   Redis reports in the same script call as the buckets; a denial by a block is never taken
 *   for the buckets' state (the deny cache does not learn from it).
 * - The deny cache answers next: a request it proves denied spends no leased token and costs
 *   no round trip, even during an outage. It learns only from the store's own answers.
 * - Leased tokens are spent above the failure strategy, so they still serve during an outage;
 *   a lease top-up that fails is answered by the strategy and grants nothing.
 * - The failure strategy sees the breaker's refusals as failures, so an open circuit costs no
 *   timeout. Below it every failure rejects; above it nothing does.
 * - The deny cache, leasing and the breaker are for Redis; the memory store is local already.
 * - With `instances: 'auto'`, the instance registry counts the live instances for the failure
 *   strategy; it passes takes through, and sits below the strategy so that it closes (leaving
 *   the count) before the store does.
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
    const settings = withInstances(options);
    const blocks = new BlockLayer(new FailureStrategyLayer(store, settings), options);
    return {
      top: blocks,
      blocks,
      location: 'the in-process memory store, which limits this process only (no redis configured)',
      store,
      breaker: undefined,
      instances: () => settings.instances,
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
  const registry =
    options.instances === 'auto'
      ? new InstanceRegistry(breaker ?? timed, store, options.keyPrefix)
      : undefined;
  const settings = withInstances(options, registry);
  let top: DecisionLayer = new FailureStrategyLayer(registry ?? breaker ?? timed, settings);
  top = new LeaseLayer(top, options.memoryStoreMaxKeys);
  if (options.denyCache !== false) top = new DenyCacheLayer(top, options.denyCache.maxKeys);
  const blocks = new BlockLayer(top, options, store);
  return {
    top: blocks,
    location: describeConnection(redis),
    store,
    breaker,
    blocks,
    instances: () => settings.instances,
  };
}

/** The options as the failure strategy reads them: `instances` a number, the registry's live. */
function withInstances(
  options: ResolvedModuleOptions,
  registry?: InstanceRegistry,
): ResolvedModuleOptions & { readonly instances: number } {
  if (typeof options.instances === 'number') return { ...options, instances: options.instances };
  return {
    ...options,
    get instances() {
      return registry?.instances ?? 1;
    },
  };
}
