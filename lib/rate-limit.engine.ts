import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { buildDecision } from './decision/build-decision.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import type { ResolvedModuleOptions } from './options/resolved-module-options.interface.js';
import type { BreakerLayer } from './pipeline/breaker.layer.js';
import { buildPipeline } from './pipeline/build-pipeline.js';
import type { DecisionLayer, TakeQuery } from './pipeline/decision-layer.interface.js';
import { RATE_LIMIT_LOG_CONTEXT, RESOLVED_RATE_LIMIT_OPTIONS } from './rate-limit.constants.js';
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
  private readonly location: string;
  private readonly logger = new Logger(RATE_LIMIT_LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_RATE_LIMIT_OPTIONS) readonly options: ResolvedModuleOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    const { top, location, store, breaker } = buildPipeline(options, this.logger);
    this.pipeline = top;
    this.location = location;
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

  /** Waits (bounded) for Redis, then says in one line where decisions are made. */
  async onModuleInit(): Promise<void> {
    await this.store.waitUntilReady?.();
    this.logger.log(
      `Rate limits are judged in ${this.location}; key prefix '${this.options.keyPrefix}', ` +
        `failure strategy '${this.options.failureStrategy}', timeout ${this.options.timeoutMs} ms`,
    );
    this.warnIfEveryProxyIsTrusted();
  }

  /**
   * Express's `trust proxy: true` trusts every hop, so any client can pick its own IP with
   * X-Forwarded-For and get a fresh bucket per request; express-rate-limit warns about it too.
   */
  private warnIfEveryProxyIsTrusted(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter?.getType() !== 'express') return;
    const app = adapter.getInstance<{ get(setting: string): unknown }>();
    if (app.get('trust proxy') !== true) return;
    this.logger.warn(
      "Express 'trust proxy' is true: every hop is trusted, so a client can choose its IP with " +
        "X-Forwarded-For and escape IP limits. Set it to your proxies' addresses or hop count.",
    );
  }

  /** Gives leased tokens back, then closes the store's client (a layer closes what it wraps). */
  async onModuleDestroy(): Promise<void> {
    await this.pipeline.close();
  }
}
