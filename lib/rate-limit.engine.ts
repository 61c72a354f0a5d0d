import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { buildDecision } from './decision/build-decision.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import type { ResolvedModuleOptions } from './options/resolved-module-options.interface.js';
import type { BreakerLayer } from './pipeline/breaker.layer.js';
import { buildPipeline } from './pipeline/build-pipeline.js';
import type { DecisionLayer, TakeQuery } from './pipeline/decision-layer.interface.js';
import { RESOLVED_RATE_LIMIT_OPTIONS } from './rate-limit.constants.js';
import type { RateLimitStore } from './stores/rate-limit-store.interface.js';

/**
 * Owns the decision pipeline (pipeline/build-pipeline.ts) and turns its takes into decisions.
 * Never rejects a decision: the pipeline's failure strategy layer answers when the store fails.
 */
@Injectable()
export class RateLimitEngine implements OnModuleInit, OnModuleDestroy {
  readonly store: RateLimitStore;
  /** The circuit breaker, when the store has one. */
  readonly breaker: BreakerLayer | undefined;
  private readonly pipeline: DecisionLayer;

  constructor(@Inject(RESOLVED_RATE_LIMIT_OPTIONS) readonly options: ResolvedModuleOptions) {
    const { top, store, breaker } = buildPipeline(options);
    this.pipeline = top;
    this.store = store;
    this.breaker = breaker;
  }

  /** The decision over `query`'s buckets; `names[i]` names the limit of `query.requests[i]`. */
  decide(names: readonly string[], query: TakeQuery): Promise<RateLimitDecision> {
    return this.pipeline.take(query).then((take) => buildDecision(names, take));
  }

  /** Deletes buckets (full again), here and in this instance's caches. */
  reset(keys: readonly string[]): Promise<void> {
    return this.pipeline.reset(keys);
  }

  /** Deletes every bucket of an identity under a prefix, here and in this instance's caches. */
  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.pipeline.resetIdentity(keyPrefix, identity);
  }

  async onModuleInit(): Promise<void> {
    await this.store.waitUntilReady?.();
  }

  /** Gives leased tokens back, then closes the store's client (a layer closes what it wraps). */
  async onModuleDestroy(): Promise<void> {
    await this.pipeline.close();
  }
}
