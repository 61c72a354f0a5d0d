import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { BucketRequest } from './algorithms/algorithm.interface.js';
import type { BlockLayer } from './blocks/block.layer.js';
import { type ConcurrencyDecision, InFlightSlots } from './concurrency/in-flight-slots.js';
import type { ResolvedConcurrencyLimit } from './concurrency/resolve-concurrency-limit.js';
import { buildDecision } from './decision/build-decision.js';
import type { RateLimitDecision } from './decision/rate-limit-decision.interface.js';
import { shadowFlags, takeWithShadow } from './decision/take-with-shadow.js';
import { type DecisionObservation, DecisionObserver } from './observe/decision-observer.js';
import type { RateLimitEvents } from './observe/rate-limit-events.js';
import type { ResolvedModuleOptions } from './options/resolved-module-options.interface.js';
import type { BreakerLayer } from './pipeline/breaker.layer.js';
import { buildPipeline } from './pipeline/build-pipeline.js';
import { slotsKey } from './keys/bucket-key.js';
import type { DecisionLayer, TakeQuery } from './pipeline/decision-layer.interface.js';
import { RATE_LIMIT_LOG_CONTEXT, RESOLVED_RATE_LIMIT_OPTIONS } from './rate-limit.constants.js';
import type { RateLimitStore } from './stores/rate-limit-store.interface.js';

/**
 * Owns the decision pipeline (pipeline/build-pipeline.ts) and turns its takes into decisions.
 * Never rejects a decision for a store failure: the pipeline's failure strategy layer answers
 * then. It rejects with RateLimitConfigError when the store cannot judge a limit at all (an
 * algorithm that needs a newer Redis).
 */
@Injectable()
export class RateLimitEngine implements OnModuleInit, OnModuleDestroy {
  readonly store: RateLimitStore;
  /** The circuit breaker, when the store has one. */
  readonly breaker: BreakerLayer | undefined;
  /** Sets and lifts blocks (RateLimitService.block); the top of the pipeline. */
  readonly blocks: BlockLayer;
  /** Slots in flight of concurrency limits, on the same store. */
  readonly slots: InFlightSlots;
  private readonly pipeline: DecisionLayer;
  private readonly location: string;
  private readonly logger = new Logger(RATE_LIMIT_LOG_CONTEXT);
  private readonly observer: DecisionObserver;

  constructor(
    @Inject(RESOLVED_RATE_LIMIT_OPTIONS) readonly options: ResolvedModuleOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.observer = new DecisionObserver(options, this.logger);
    const { top, location, store, breaker, blocks, instances } = buildPipeline(
      options,
      this.logger,
      this.observer,
    );
    this.slots = new InFlightSlots(store, breaker, instances, this.logger);
    this.pipeline = top;
    this.location = location;
    this.store = store;
    this.breaker = breaker;
    this.blocks = blocks;
  }

  /** Denials, shadow denials, failure-strategy decisions and breaker changes, in process. */
  get events(): RateLimitEvents {
    return this.observer.events;
  }

  /**
   * The decision over `query`'s buckets; `names[i]` names the limit of `query.requests[i]`.
   * Requests in shadow mode never deny; mixed with enforced ones, they are taken after them.
   */
  decide(names: readonly string[], query: TakeQuery): Promise<RateLimitDecision> {
    const shadow = shadowFlags(query.requests);
    const take =
      shadow === undefined || shadow.every(Boolean)
        ? this.pipeline.take(query)
        : takeWithShadow(this.pipeline, query, shadow);
    return take.then((result) => buildDecision(names, result, shadow));
  }

  /**
   * Reports a decision the guard or the service acted on: metrics, events and the shadow-mode
   * log line, each only when on.
   */
  observe(observation: DecisionObservation): void {
    this.observer.observe(observation);
  }

  /**
   * Takes a slot of a concurrency limit for `identity` under `scope` (the module's failure
   * strategy and shadow mode unless the limit sets its own), and reports the decision as
   * `observe` does: the one path of the guard's @ConcurrencyLimit and RateLimitService.acquire.
   */
  async acquireSlot(
    identity: string,
    limit: ResolvedConcurrencyLimit,
    scope: string,
    route?: string,
  ): Promise<ConcurrencyDecision> {
    const { keyPrefix, failureStrategy, shadow } = this.options;
    const decision = await this.slots.acquire({
      key: slotsKey(keyPrefix, identity, scope, limit.name),
      limit,
      failureStrategy: limit.failureStrategy ?? failureStrategy,
      shadow: limit.shadow ?? shadow,
    });
    this.observe({
      scope,
      ...(route === undefined ? {} : { route }),
      limits: [{ limit: { scope } }],
      identities: [identity],
      decision,
    });
    return decision;
  }

  /**
   * Gives each request's `cost` back to its bucket (never beyond full; an absent bucket is full
   * already), here and in this instance's caches. Rejects with RateLimitStoreError when the store
   * cannot be reached: the tokens then stay taken until they refill.
   */
  refund(requests: readonly BucketRequest[]): Promise<void> {
    return this.pipeline.refund(requests);
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
    await Promise.all([this.store.waitUntilReady?.(), this.observer.start(this.breaker)]);
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

  /**
   * Releases the slots in flight and gives leased tokens back, then closes the store's client
   * (a layer closes what it wraps).
   */
  async onModuleDestroy(): Promise<void> {
    this.observer.close();
    await this.slots.close();
    await this.pipeline.close();
  }
}
