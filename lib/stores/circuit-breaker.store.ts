import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RateLimitStoreError } from '../errors/rate-limit-store.error.js';
import type { BucketRule } from '../options/resolved-limit.interface.js';
import { RATE_LIMIT_LOG_CONTEXT } from '../rate-limit.constants.js';
import {
  CircuitBreaker,
  type CircuitBreakerSettings,
  type CircuitState,
} from './circuit-breaker.js';
import { type Clock, systemClock } from './clock.js';
import type { RateLimitStore } from './rate-limit-store.interface.js';
import type { StoreObserver } from './store-observer.js';

/** A store the breaker can wrap; lifecycle hooks are forwarded when it has them. */
export type BreakableStore = RateLimitStore &
  Partial<OnModuleInit & OnModuleDestroy> & {
    readonly client?: Redis | Cluster;
    /** When the store offers it, takes are observed from inside its promise: one layer less. */
    observeTakes?(observer: StoreObserver): void;
  };

/**
 * Wraps a store with a circuit breaker, so that while Redis is known to be down a decision
 * costs no timeout: after `failureThreshold` consecutive timeouts or unavailable replies, calls
 * are rejected at once with RateLimitStoreError('unavailable') for `cooldownMs`, then one probe
 * goes through. Only availability failures (timeout, unavailable) count; other errors (OOM,
 * WRONGTYPE, a dropped connection) are neutral, and close the circuit only as a probe's answer.
 */
export class CircuitBreakerStore implements RateLimitStore, OnModuleInit, OnModuleDestroy {
  readonly breaker: CircuitBreaker;
  private openedAtUs = 0;

  constructor(
    readonly inner: BreakableStore,
    private readonly settings: CircuitBreakerSettings,
    private readonly clock: Clock = systemClock,
    private readonly logger: Pick<Logger, 'warn' | 'log' | 'debug'> = new Logger(
      RATE_LIMIT_LOG_CONTEXT,
    ),
  ) {
    this.breaker = new CircuitBreaker(settings, clock, (from, to) => this.logChange(from, to));
    // Reconnected: probe at the next decision rather than wait out the cool-down.
    inner.client?.on('ready', this.onReady);
    this.observesTakes = typeof inner.observeTakes === 'function';
    inner.observeTakes?.({
      succeeded: () => this.breaker.recordSuccess(),
      failed: (error) => this.record(error),
    });
  }

  private readonly observesTakes: boolean;

  private readonly onReady = (): void => this.breaker.endCooldown();

  get description(): string {
    return this.inner.description;
  }

  /** The wrapped store's Redis client, when it has one (health checks, tests). */
  get client(): Redis | Cluster | undefined {
    return this.inner.client;
  }

  take(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    consume: boolean,
  ): Promise<number[]> {
    if (!this.observesTakes) return this.guard(() => this.inner.take(keys, rules, costs, consume));
    const rejected = this.rejection();
    return rejected === undefined
      ? this.inner.take(keys, rules, costs, consume)
      : Promise.reject(rejected);
  }

  lease(
    keys: readonly string[],
    rules: readonly BucketRule[],
    costs: readonly number[],
    extras: readonly number[],
  ): Promise<number[]> {
    const inner = this.inner;
    if (inner.lease === undefined) return Promise.reject(new Error('the store cannot lease'));
    return this.guard(() => inner.lease!(keys, rules, costs, extras));
  }

  refund(
    keys: readonly string[],
    rules: readonly BucketRule[],
    tokens: readonly number[],
  ): Promise<void> {
    const inner = this.inner;
    if (inner.refund === undefined) return Promise.resolve();
    return this.guard(() => inner.refund!(keys, rules, tokens));
  }

  reset(keys: readonly string[]): Promise<void> {
    return this.guard(() => this.inner.reset(keys));
  }

  resetIdentity(keyPrefix: string, identity: string): Promise<void> {
    return this.guard(() => this.inner.resetIdentity(keyPrefix, identity));
  }

  async onModuleInit(): Promise<void> {
    await this.inner.onModuleInit?.();
  }

  async onModuleDestroy(): Promise<void> {
    this.inner.client?.off('ready', this.onReady);
    await this.inner.onModuleDestroy?.();
  }

  /** Plain `.then` callbacks, not an async function: this runs on every decision. */
  private guard<T>(call: () => Promise<T>): Promise<T> {
    const rejected = this.rejection();
    return rejected === undefined
      ? call().then(this.onSuccess, this.onFailure)
      : Promise.reject(rejected);
  }

  /** The error of a call the open circuit does not let through; undefined: go ahead. */
  private rejection(): RateLimitStoreError | undefined {
    if (this.breaker.admit() !== 'reject') return undefined;
    return new RateLimitStoreError(
      'unavailable',
      `Circuit breaker open: ${this.description} store not called for another ${this.breaker.remainingCooldownMs()} ms`,
    );
  }

  private record(error: unknown): void {
    if (isAvailabilityFailure(error)) this.breaker.recordFailure();
    else this.breaker.recordError();
  }

  private readonly onSuccess = <T>(result: T): T => {
    this.breaker.recordSuccess();
    return result;
  };

  private readonly onFailure = (error: unknown): never => {
    this.record(error);
    throw error;
  };

  /**
   * Opening and closing are logged once each. A probe that fails while Redis stays down is a
   * debug line, or a long outage would log twice per cool-down.
   */
  private logChange(from: CircuitState, to: CircuitState): void {
    const store = this.description;
    if (to === 'open' && from === 'closed') {
      this.openedAtUs = this.clock.nowUs();
      this.logger.warn(
        `Circuit breaker opened: ${this.settings.failureThreshold} consecutive ${store} store failures; ` +
          `decisions follow the failure strategy without calling ${store}, probing every ${this.settings.cooldownMs} ms`,
      );
    } else if (to === 'closed') {
      const outageMs = Math.round((this.clock.nowUs() - this.openedAtUs) / 1000);
      this.logger.log(`Circuit breaker closed: ${store} store answered again after ${outageMs} ms`);
    } else {
      this.logger.debug(`Circuit breaker ${from} -> ${to} (${store} store)`);
    }
  }
}

function isAvailabilityFailure(error: unknown): boolean {
  return (
    error instanceof RateLimitStoreError &&
    (error.failure === 'timeout' || error.failure === 'unavailable')
  );
}
